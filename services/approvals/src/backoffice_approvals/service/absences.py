"""Out-of-office: absences with a delegate, set by the approver or by an admin for them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backoffice_approvals.domain.errors import InvalidInput
from backoffice_approvals.domain.people import Absence
from backoffice_approvals.service.planning import new_id, now_utc
from backoffice_approvals.service.timers import move_tasks_of_absent
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_common.auth import User
from backoffice_common.errors import Forbidden, NotFound


def for_whom(user: User, user_id: str | None) -> str:
    """The user an absence is about: oneself, or anyone for an admin."""
    target = user_id or user.sub
    if target != user.sub and not user.has_any("admin"):
        raise Forbidden("only an admin may set or read someone else's absence")
    return target


async def create_absence(
    *,
    uow: ApprovalsUnitOfWork,
    user: User,
    user_id: str | None,
    delegate_id: str,
    starts_at: datetime,
    ends_at: datetime,
) -> dict[str, Any]:
    """New tasks during the absence go to the delegate; open tasks move when it starts (now, or by timer)."""
    absent = for_whom(user, user_id)
    if delegate_id == absent:
        raise InvalidInput("delegate_id: nobody can be their own delegate")
    delegate = (await uow.directory.load()).get(delegate_id)
    if delegate is None or not delegate.active:
        # Tasks moved to someone the directory does not list as an active approver could never be decided.
        raise InvalidInput(f"delegate_id: {delegate_id} is not an active approver of the directory")
    absence = Absence(absent, starts_at, ends_at, delegate_id, id=new_id())
    await uow.absences.add(absence, created_by=user.sub)
    now = now_utc()
    if absence.covers(now):
        await move_tasks_of_absent(uow=uow, user_id=absent)
    elif starts_at > now:
        await uow.timers.schedule(kind="absence_start", ref_id=absence.id, fire_at=starts_at)
    await uow.commit()
    return {
        "id": absence.id,
        "user_id": absent,
        "delegate_id": delegate_id,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "created_by": user.sub,
        "cancelled_at": None,
    }


async def absences_of(*, uow: ApprovalsUnitOfWork, user: User, user_id: str | None) -> list[dict[str, Any]]:
    return await uow.absences.of_user(for_whom(user, user_id))


async def absence_of(*, uow: ApprovalsUnitOfWork, user: User, absence_id: str) -> dict[str, Any]:
    found = await uow.absences.read(absence_id)
    if found is None:
        raise NotFound(f"no absence {absence_id}")
    for_whom(user, found["user_id"])
    return found


async def cancel_absence(*, uow: ApprovalsUnitOfWork, user: User, absence_id: str) -> None:
    absence = await uow.absences.get(absence_id)
    if absence is None:
        raise NotFound(f"no absence {absence_id}")
    for_whom(user, absence.user_id)
    await uow.absences.cancel(absence.id, at=now_utc())
    await uow.commit()
