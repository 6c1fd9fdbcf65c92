"""Background jobs: the timer job (overdue items, access escalations), claimed with SKIP LOCKED.

Timers live in ``checklist_timer`` so a restart loses none; several instances can run the job at
once because each claims one due row per transaction and skips rows another instance holds. With
nothing due the job sleeps until the earliest timer falls due (at most ``timer_idle_poll_seconds``),
and a commit of this process that sets an earlier timer rings it awake (``TIMER_BELL``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI

from backoffice_checklists.service.timers import fire_due_timer
from backoffice_checklists.service.uow import TIMER_BELL, ChecklistsUnitOfWork
from backoffice_checklists.settings import Settings
from backoffice_common.wakeup import run_until_due_loop, until_due


async def timer_job(app: FastAPI) -> None:
    """The shared sleep-until-due loop (``backoffice_common.wakeup.run_until_due_loop``) over the timers."""
    settings: Settings = app.state.settings
    if not settings.timers_enabled:
        return
    uow_factory: Callable[[], ChecklistsUnitOfWork] = app.state.uow_factory

    async def fire_one() -> bool:
        return await fire_due_timer(uow_factory=uow_factory, max_attempts=settings.timer_max_attempts)

    async def next_due_at() -> datetime | None:
        async with uow_factory() as uow:
            return await uow.timers.next_due_at()

    await run_until_due_loop(
        name="timers",
        bell=TIMER_BELL,
        do_one=fire_one,
        next_due_at=next_due_at,
        poll_seconds=settings.timer_poll_seconds,
        idle_poll_seconds=settings.timer_idle_poll_seconds,
        batch_size=settings.timer_batch_size,
    )


async def idle_wait(uow_factory: Callable[[], ChecklistsUnitOfWork], settings: Settings) -> float:
    """Seconds the idle job sleeps now: until the earliest timer not yet fired falls due, at most
    ``timer_idle_poll_seconds``; a due timer held by another instance after ``timer_poll_seconds``."""
    async with uow_factory() as uow:
        due = await uow.timers.next_due_at()
    return until_due(
        due,
        poll_seconds=settings.timer_poll_seconds,
        idle_poll_seconds=settings.timer_idle_poll_seconds,
        now=datetime.now(UTC),
    )
