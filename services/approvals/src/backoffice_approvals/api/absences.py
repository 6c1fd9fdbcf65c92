"""Out-of-office: absences with a delegate, set by the approver or an admin for them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from backoffice_approvals.api.deps import PathId, QueryId, UowDep
from backoffice_approvals.schemas import AbsenceCreate, AbsenceRead
from backoffice_approvals.service import absences
from backoffice_common.auth import CurrentUser

router = APIRouter(prefix="/absences", tags=["absences"])


@router.post("", status_code=201, response_model=AbsenceRead)
async def create_absence(body: AbsenceCreate, uow: UowDep, user: CurrentUser, response: Response) -> dict[str, Any]:
    """New tasks during the absence go to the delegate; open tasks move when it starts."""
    created = await absences.create_absence(
        uow=uow,
        user=user,
        user_id=body.user_id,
        delegate_id=body.delegate_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
    )
    response.headers["Location"] = f"/absences/{created['id']}"
    return created


@router.get("", response_model=list[AbsenceRead])
async def list_absences(uow: UowDep, user: CurrentUser, user_id: QueryId = None) -> list[Any]:
    return await absences.absences_of(uow=uow, user=user, user_id=user_id)


@router.get("/{absence_id}", response_model=AbsenceRead)
async def get_absence(absence_id: PathId, uow: UowDep, user: CurrentUser) -> dict[str, Any]:
    return await absences.absence_of(uow=uow, user=user, absence_id=absence_id)


@router.delete("/{absence_id}", status_code=204)
async def cancel_absence(absence_id: PathId, uow: UowDep, user: CurrentUser) -> None:
    await absences.cancel_absence(uow=uow, user=user, absence_id=absence_id)
