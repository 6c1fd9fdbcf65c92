"""Cost-centre use cases: define and change them; each change is published on the compacted topic."""

from __future__ import annotations

from backoffice_budgets.domain.cost_centres import CostCentre
from backoffice_budgets.domain.ledger import Cause
from backoffice_budgets.repository.uow import BudgetsUnitOfWork
from backoffice_common.errors import Conflict, NotFound


async def create(
    *, uow: BudgetsUnitOfWork, cost_centre_id: str, name: str, owner: dict[str, str], department: str, cause: Cause
) -> CostCentre:
    cc = CostCentre(cost_centre_id, name, owner, department, updated_at=cause.occurred_at)
    if not await uow.cost_centres.add(cc):
        raise Conflict(f"cost centre {cost_centre_id} exists already", cost_center=cost_centre_id)
    cc.announce(cause)
    uow.track(cc)
    await uow.commit()
    return cc


async def update(
    *,
    uow: BudgetsUnitOfWork,
    cost_centre_id: str,
    name: str,
    owner: dict[str, str],
    department: str,
    active: bool,
    cause: Cause,
) -> CostCentre:
    cc = await uow.cost_centres.get(cost_centre_id, lock=True)
    if cc is None:
        raise NotFound(f"cost centre {cost_centre_id} does not exist")
    cc.change(name=name, owner=owner, department=department, active=active, cause=cause)
    await uow.cost_centres.save(cc)
    uow.track(cc)
    await uow.commit()
    return cc
