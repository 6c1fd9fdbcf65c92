"""Timers firing: a ready item's due day begins (reminder); an item past its due day turns overdue; an access
item open after the last day escalates.

Each due timer is handled in its own transaction; one whose handling fails is postponed with
backoff (and given up after a few attempts, the error kept on the row) so it never blocks the
timers behind it.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from backoffice_checklists.domain.timing import ACCESS, DUE, REMIND, split_ref
from backoffice_checklists.service.checklists import now_utc
from backoffice_checklists.service.uow import ChecklistsUnitOfWork

log = structlog.get_logger(__name__)


async def fire_due_timer(*, uow_factory: Callable[[], ChecklistsUnitOfWork], max_attempts: int) -> bool:
    """Fire the earliest due timer and commit; False when none is due."""
    async with uow_factory() as uow:
        now = now_utc()
        timer = await uow.timers.claim_due(now=now)
        if timer is None:
            return False
        try:
            await fire(uow=uow, kind=timer.kind, ref_id=timer.ref_id)
            await uow.timers.mark_fired(timer.id, now=now)
            await uow.commit()
            return True
        except Exception as exc:
            error = repr(exc)
    async with uow_factory() as uow:
        retried = await uow.timers.postpone(timer.id, error=error, now=now_utc(), give_up_after=max_attempts)
        await uow.commit()
    log.error("timers.handling_failed", kind=timer.kind, ref_id=timer.ref_id, error=error, will_retry=retried)
    return True


async def fire(*, uow: ChecklistsUnitOfWork, kind: str, ref_id: str) -> None:
    """What a timer of ``kind`` does; the caller commits. A checklist gone or closed is nothing to do."""
    checklist_id, key = split_ref(ref_id)
    checklist = await uow.checklists.get(checklist_id, lock=True)
    if checklist is None or not any(i.key == key for i in checklist.items):
        return
    changed = False
    if kind == DUE:
        changed = checklist.mark_overdue(key, now=now_utc())
    elif kind == ACCESS:
        changed = checklist.escalate_access(key, now=now_utc())
    elif kind == REMIND:
        changed = checklist.remind(key, now=now_utc())
    if changed:
        await uow.checklists.save(checklist)
