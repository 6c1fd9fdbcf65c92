"""Out-of-office: absences with a delegate, set by the approver or an admin for them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select, update

from backoffice_approvals.api.deps import PathId, QueryId
from backoffice_approvals.models import absence
from backoffice_approvals.repository import absence_row, schedule
from backoffice_approvals.schemas import AbsenceCreate, AbsenceRead
from backoffice_approvals.timers import move_tasks_of_absent
from backoffice_common.app import UowDep
from backoffice_common.auth import CurrentUser, User
from backoffice_common.problems import Problem

router = APIRouter(prefix="/absences", tags=["absences"])


def _for_whom(user: User, user_id: str | None) -> str:
    target = user_id or user.sub
    if target != user.sub and not user.has_any("admin"):
        raise Problem(403, "Forbidden", "only an admin may set or read someone else's absence", type="forbidden")
    return target


@router.post("", status_code=201, response_model=AbsenceRead)
async def create_absence(body: AbsenceCreate, uow: UowDep, user: CurrentUser) -> dict[str, Any]:
    """New tasks during the absence go to the delegate; open tasks move when it starts."""
    user_id = _for_whom(user, body.user_id)
    if body.delegate_id == user_id:
        raise Problem(422, "Invalid input", "delegate_id: nobody can be their own delegate", type="validation")
    absence_id = str(uuid.uuid4())
    values: dict[str, Any] = {
        "id": absence_id,
        "user_id": user_id,
        "delegate_id": body.delegate_id,
        "starts_at": body.starts_at,
        "ends_at": body.ends_at,
        "created_by": user.sub,
    }
    await uow.session.execute(absence.insert().values(**values))
    now = datetime.now(UTC)
    if body.starts_at <= now < body.ends_at:
        await move_tasks_of_absent(uow=uow, user_id=user_id)
    elif body.starts_at > now:
        await schedule(session=uow.session, kind="absence_start", ref_id=absence_id, fire_at=body.starts_at)
    await uow.commit()
    return {**values, "cancelled_at": None}


@router.get("", response_model=list[AbsenceRead])
async def list_absences(uow: UowDep, user: CurrentUser, user_id: QueryId = None) -> list[Any]:
    target = _for_whom(user, user_id)
    rows = await uow.session.execute(select(absence).where(absence.c.user_id == target).order_by(absence.c.starts_at))
    return [dict(r._mapping) for r in rows]


@router.delete("/{absence_id}", status_code=204)
async def cancel_absence(absence_id: PathId, uow: UowDep, user: CurrentUser) -> None:
    row = await absence_row(session=uow.session, absence_id=absence_id)
    if row is None:
        raise Problem(404, "Not Found", f"no absence {absence_id}", type="not-found")
    _for_whom(user, row.user_id)
    await uow.session.execute(update(absence).where(absence.c.id == row.id).values(cancelled_at=datetime.now(UTC)))
    await uow.commit()
