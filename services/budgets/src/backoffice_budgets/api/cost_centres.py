"""Cost centres: finance defines and changes them; readers list them."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from backoffice_budgets.api.auth import Finance, Reader
from backoffice_budgets.api.common import Uow, budget_read, http_cause
from backoffice_budgets.domain.cost_centres import CostCentre
from backoffice_budgets.schemas import Availability, CostCentreCreate, CostCentreRead, CostCentreUpdate
from backoffice_budgets.service import cost_centres as service
from backoffice_common.errors import NotFound
from backoffice_common.openapi import problem_responses

router = APIRouter(prefix="/cost-centres", tags=["cost centres"])

CostCentreId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")]


def _read(cc: CostCentre) -> CostCentreRead:
    return CostCentreRead(
        id=cc.id, name=cc.name, owner=cc.owner, department=cc.department, active=cc.active, updated_at=cc.updated_at
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CostCentreRead,
    responses=problem_responses(409, s409="Conflict: a cost centre with this id exists already"),
)
async def create_cost_centre(body: CostCentreCreate, uow: Uow, user: Finance, response: Response) -> CostCentreRead:
    cc = await service.create(
        uow=uow,
        cost_centre_id=body.id,
        name=body.name,
        owner=body.owner.model_dump(),
        department=body.department,
        cause=http_cause("cost_centre_created"),
    )
    response.headers["Location"] = f"/cost-centres/{cc.id}"
    return _read(cc)


@router.put("/{cost_centre_id}", response_model=CostCentreRead)
async def update_cost_centre(
    cost_centre_id: CostCentreId, body: CostCentreUpdate, uow: Uow, user: Finance
) -> CostCentreRead:
    cc = await service.update(
        uow=uow,
        cost_centre_id=cost_centre_id,
        name=body.name,
        owner=body.owner.model_dump(),
        department=body.department,
        active=body.active,
        cause=http_cause("cost_centre_updated"),
    )
    return _read(cc)


@router.get("", response_model=list[CostCentreRead])
async def list_cost_centres(
    uow: Uow,
    user: Reader,
    department: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]+$")] = None,
    active: bool | None = None,
) -> list[CostCentreRead]:
    return [_read(cc) for cc in await uow.cost_centres.list(department=department, active=active)]


@router.get("/{cost_centre_id}", response_model=CostCentreRead)
async def get_cost_centre(cost_centre_id: CostCentreId, uow: Uow, user: Reader) -> CostCentreRead:
    cc = await uow.cost_centres.get(cost_centre_id)
    if cc is None:
        raise NotFound(f"cost centre {cost_centre_id} does not exist")
    return _read(cc)


@router.get("/{cost_centre_id}/availability", response_model=Availability)
async def availability(
    cost_centre_id: CostCentreId, uow: Uow, user: Reader, on: Annotated[date | None, Query()] = None
) -> Availability:
    """What the cost centre's budget for the period containing ``on`` (default today) has available."""
    day = on or date.today()
    if await uow.cost_centres.get(cost_centre_id) is None:
        raise NotFound(f"cost centre {cost_centre_id} does not exist")
    rows = await uow.budgets.page(
        cost_centre_id=cost_centre_id, period=None, status=None, department=None, on=day, after=None, limit=1
    )
    return Availability(cost_center=cost_centre_id, on=day, budget=budget_read(rows[0]) if rows else None)
