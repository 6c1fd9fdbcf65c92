"""The timer job: reminders, escalations and absence starts, claimed with SKIP LOCKED.

Timers live in ``approval_timer`` so a restart loses none; several instances can run the job at
once because each claims one due row per transaction and skips rows another instance holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI

from backoffice_approvals.chains import fallback_person, new_id, now_utc
from backoffice_approvals.domain.chain import Chain
from backoffice_approvals.domain.people import Person
from backoffice_approvals.domain.routing import resolve_delegate
from backoffice_approvals.publishing import SERVICE, SYSTEM_ACTOR, TOPIC, publish_chain_events
from backoffice_approvals.repository import (
    absence_row,
    claim_due_timers,
    load_absences,
    load_chain,
    load_directory,
    mark_fired,
    open_tasks_of,
    postpone_timer,
    save_chain,
    task_row,
)
from backoffice_approvals.settings import Settings
from backoffice_common.events import new_event
from backoffice_common.uow import UnitOfWork

log = structlog.get_logger(__name__)


async def timer_job(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    while True:
        try:
            fired = 0
            while fired < settings.timer_batch_size and await fire_one(
                uow_factory=app.state.uow_factory, settings=settings
            ):
                fired += 1
            if fired == 0:
                await asyncio.sleep(settings.timer_poll_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("timers.failed", error=repr(exc))
            await asyncio.sleep(settings.timer_poll_seconds)


async def fire_one(*, uow_factory: Callable[[], UnitOfWork], settings: Settings) -> bool:
    """Fire the earliest due timer in its own transaction; False when none is due.

    A timer whose handling fails is postponed with backoff (and given up after a few attempts,
    with the error kept on the row) so that it never blocks the timers behind it.
    """
    async with uow_factory() as uow:
        now = now_utc()
        timers = await claim_due_timers(session=uow.session, now=now, limit=1)
        if not timers:
            return False
        timer = timers[0]
        try:
            await _fire(uow=uow, timer=timer, settings=settings)
            await mark_fired(session=uow.session, timer_id=timer.id, now=now)
            await uow.commit()
            return True
        except Exception as exc:
            error = repr(exc)
    async with uow_factory() as uow:
        retried = await postpone_timer(
            session=uow.session,
            timer_id=timer.id,
            error=error,
            now=now_utc(),
            give_up_after=settings.timer_max_attempts,
        )
        await uow.commit()
    log.error("timers.handling_failed", kind=timer.kind, ref_id=timer.ref_id, error=error, will_retry=retried)
    return True


async def _fire(*, uow: UnitOfWork, timer: Any, settings: Settings) -> None:
    if timer.kind == "reminder":
        await _remind(uow=uow, task_id=timer.ref_id)
    elif timer.kind == "escalation":
        await _escalate(uow=uow, task_id=timer.ref_id, settings=settings)
    elif timer.kind == "absence_start":
        absent = await absence_row(session=uow.session, absence_id=timer.ref_id)
        if absent is not None and absent.cancelled_at is None:
            await move_tasks_of_absent(uow=uow, user_id=absent.user_id)


async def _remind(*, uow: UnitOfWork, task_id: str) -> None:
    row = await task_row(session=uow.session, task_id=task_id)
    if row is None or row.status != "open":
        return
    data: dict[str, Any] = {
        "schema_version": 1,
        "actor": SYSTEM_ACTOR,
        "task_id": row.id,
        "request_id": row.request_id,
        "assignee": row.assignee,
        "due_at": row.due_at.isoformat(),
    }
    uow.publish(
        new_event(type="approval.reminder_due", service=SERVICE, subject=row.request_id, data=data), topic=TOPIC
    )


async def _locked_chain_of(*, uow: UnitOfWork, task_id: str) -> Chain | None:
    row = await task_row(session=uow.session, task_id=task_id)
    if row is None or row.status != "open":
        return None
    chain = await load_chain(session=uow.session, chain_id=row.chain_id, lock=True)
    if chain is None or chain.status != "in_progress" or not chain.task(task_id).is_open:
        return None
    return chain


async def _escalate(*, uow: UnitOfWork, task_id: str, settings: Settings) -> None:
    chain = await _locked_chain_of(uow=uow, task_id=task_id)
    if chain is None:
        return
    now = now_utc()
    task = chain.task(task_id)
    directory = await load_directory(session=uow.session)
    excluded = chain.people_of_other_steps(task.step_index) | {task.assignee.id}
    target: Person | None = None
    manager = directory.manager_of(task.assignee.id)
    while manager is not None and target is None:
        if manager.id not in excluded:
            target = manager.person
        else:
            manager = directory.get(manager.manager_id)
    if target is None:
        fallback = fallback_person(settings)
        if fallback.id in excluded:
            return
        target = fallback
    absences = await load_absences(session=uow.session, at=now)
    assignee, on_behalf = resolve_delegate(target, directory=directory, absences=absences, at=now, excluded=excluded)
    reason = f"not decided by {task.assignee.id} before {task.due_at.isoformat()}"
    if chain.escalate(task_id=task_id, to=assignee, on_behalf_of=on_behalf, now=now, new_id=new_id, reason=reason):
        await save_chain(session=uow.session, chain=chain, now=now)
        await publish_chain_events(uow, chain)


async def move_tasks_of_absent(*, uow: UnitOfWork, user_id: str) -> int:
    """An absence started: the user's open tasks move to their delegate."""
    now = now_utc()
    directory = await load_directory(session=uow.session)
    absences = await load_absences(session=uow.session, at=now)
    moved = 0
    for row in await open_tasks_of(session=uow.session, user_id=user_id):
        chain = await _locked_chain_of(uow=uow, task_id=row.id)
        if chain is None:
            continue
        task = chain.task(row.id)
        excluded = chain.people_of_other_steps(task.step_index)
        delegate, on_behalf = resolve_delegate(
            task.assignee, directory=directory, absences=absences, at=now, excluded=excluded
        )
        if chain.reassign(
            task_id=row.id,
            to=delegate,
            on_behalf_of=task.on_behalf_of or on_behalf,
            now=now,
            new_id=new_id,
            reason=f"{user_id} is away",
        ):
            await save_chain(session=uow.session, chain=chain, now=now)
            await publish_chain_events(uow, chain)
            moved += 1
    return moved
