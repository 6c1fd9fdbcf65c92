"""Transfers: finance moves available money from one budget to another, with a reason."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from backoffice_budgets.api.auth import Finance, Reader
from backoffice_budgets.api.common import Uow, http_cause
from backoffice_budgets.domain.money import quantize, text
from backoffice_budgets.schemas import TransferCreate, TransferRead
from backoffice_budgets.service import budgets as service
from backoffice_common.errors import NotFound
from backoffice_common.openapi import problem_responses

router = APIRouter(prefix="/transfers", tags=["transfers"])


def _read(r: Any) -> TransferRead:
    return TransferRead(
        id=r.id,
        from_budget_id=r.from_budget_id,
        to_budget_id=r.to_budget_id,
        amount=text(quantize(r.amount, r.currency)),
        currency=r.currency,
        reason=r.reason,
        actor_id=r.actor_id,
        created_at=r.created_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TransferRead,
    responses=problem_responses(409, s409="Conflict: not enough available money, or a period closed"),
)
async def create_transfer(body: TransferCreate, uow: Uow, user: Finance, response: Response) -> TransferRead:
    transfer_id = await service.transfer(
        uow=uow,
        source=str(body.from_budget_id),
        target=str(body.to_budget_id),
        amount=body.amount,
        reason=body.reason,
        user=user,
        cause=http_cause("transfer"),
    )
    response.headers["Location"] = f"/transfers/{transfer_id}"
    return await get_transfer(UUID(transfer_id), uow, user)


@router.get("", response_model=list[TransferRead])
async def list_transfers(
    uow: Uow, user: Reader, budget_id: UUID | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[TransferRead]:
    return [_read(r) for r in await uow.transfers.list(budget_id=str(budget_id) if budget_id else None, limit=limit)]


@router.get("/{transfer_id}", response_model=TransferRead)
async def get_transfer(transfer_id: UUID, uow: Uow, user: Reader) -> TransferRead:
    row = await uow.transfers.get(str(transfer_id))
    if row is None:
        raise NotFound(f"no transfer {transfer_id}")
    return _read(row)
