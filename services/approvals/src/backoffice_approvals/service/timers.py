"""Timers firing: reminders, escalations, absence starts and budget-check waits, each due timer in its own transaction.

A timer whose handling fails is postponed with backoff (and given up after a few attempts, with
the error kept on the row) so that it never blocks the timers behind it.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from backoffice_approvals.domain.chain import Chain
from backoffice_approvals.domain.delegation import resolve_delegate
from backoffice_approvals.domain.people import Directory, Person
from backoffice_approvals.service.chains import route_unchecked
from backoffice_approvals.service.planning import fallback_person, new_id, now_utc
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_approvals.settings import Settings

log = structlog.get_logger(__name__)


async def fire_due_timer(*, uow_factory: Callable[[], ApprovalsUnitOfWork], settings: Settings) -> bool:
    """Fire the earliest due timer and commit; False when none is due."""
    async with uow_factory() as uow:
        now = now_utc()
        timer = await uow.timers.claim_due(now=now)
        if timer is None:
            return False
        try:
            await fire(uow=uow, kind=timer.kind, ref_id=timer.ref_id, settings=settings)
            await uow.timers.mark_fired(timer.id, now=now)
            await uow.commit()
            return True
        except Exception as exc:
            error = repr(exc)
    async with uow_factory() as uow:
        retried = await uow.timers.postpone(
            timer.id, error=error, now=now_utc(), give_up_after=settings.timer_max_attempts
        )
        await uow.commit()
    log.error("timers.handling_failed", kind=timer.kind, ref_id=timer.ref_id, error=error, will_retry=retried)
    return True


async def fire(*, uow: ApprovalsUnitOfWork, kind: str, ref_id: str, settings: Settings) -> None:
    """What a timer of ``kind`` does; the caller commits."""
    if kind == "reminder":
        await remind(uow=uow, task_id=ref_id)
    elif kind == "escalation":
        await escalate(uow=uow, task_id=ref_id, settings=settings)
    elif kind == "budget_wait":
        await route_unchecked(uow=uow, pending_id=ref_id, settings=settings)
    elif kind == "absence_start":
        absent = await uow.absences.get(ref_id)
        if absent is not None and absent.cancelled_at is None:
            await move_tasks_of_absent(uow=uow, user_id=absent.user_id)


async def remind(*, uow: ApprovalsUnitOfWork, task_id: str) -> None:
    chain = await uow.chains.of_task(task_id, open_only=True)
    if chain is not None:
        chain.remind(task_id=task_id)


async def _running_chain_of(*, uow: ApprovalsUnitOfWork, task_id: str) -> Chain | None:
    """The locked chain of an open task, while the chain still runs."""
    chain = await uow.chains.of_task(task_id, lock=True, open_only=True)
    if chain is None or chain.status != "in_progress" or not chain.task(task_id).is_open:
        return None
    return chain


def _escalation_target(chain: Chain, task_id: str, directory: Directory, settings: Settings) -> Person | None:
    """The first manager above the assignee who fills no other step, else the fallback approver."""
    task = chain.task(task_id)
    excluded = chain.excluded_for(task) | {task.assignee.id}
    manager = directory.manager_of(task.assignee.id)
    while manager is not None:
        if manager.id not in excluded:
            return manager.person
        manager = directory.get(manager.manager_id)
    fallback = fallback_person(settings)
    return None if fallback.id in excluded else fallback


async def escalate(*, uow: ApprovalsUnitOfWork, task_id: str, settings: Settings) -> None:
    """The deadline passed: the task moves to the assignee's manager (or the fallback approver)."""
    chain = await _running_chain_of(uow=uow, task_id=task_id)
    if chain is None:
        return
    now = now_utc()
    task = chain.task(task_id)
    directory = await uow.directory.load()
    target = _escalation_target(chain, task_id, directory, settings)
    if target is None:
        return
    excluded = chain.excluded_for(task) | {task.assignee.id}
    absences = await uow.absences.active_at(now)
    assignee, on_behalf = resolve_delegate(target, directory=directory, absences=absences, at=now, excluded=excluded)
    reason = f"not decided by {task.assignee.id} before {task.due_at.isoformat()}"
    if chain.escalate(task_id=task_id, to=assignee, on_behalf_of=on_behalf, now=now, new_id=new_id, reason=reason):
        await uow.chains.save(chain, now=now)


async def move_tasks_of_absent(*, uow: ApprovalsUnitOfWork, user_id: str) -> int:
    """An absence started: the user's open tasks move to their delegate. The caller commits."""
    now = now_utc()
    directory = await uow.directory.load()
    absences = await uow.absences.active_at(now)
    moved = 0
    for task_id in await uow.chains.open_task_ids_of(user_id):
        chain = await _running_chain_of(uow=uow, task_id=task_id)
        if chain is None:
            continue
        task = chain.task(task_id)
        excluded = chain.excluded_for(task)
        delegate, on_behalf = resolve_delegate(
            task.assignee, directory=directory, absences=absences, at=now, excluded=excluded
        )
        if chain.reassign(
            task_id=task_id,
            to=delegate,
            on_behalf_of=task.on_behalf_of or on_behalf,
            now=now,
            new_id=new_id,
            reason=f"{user_id} is away",
        ):
            await uow.chains.save(chain, now=now)
            moved += 1
    return moved


__all__ = ["escalate", "fire", "fire_due_timer", "move_tasks_of_absent", "remind"]
