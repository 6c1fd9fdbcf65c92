"""Background jobs: the timer job (reminders, escalations, absence starts), claimed with SKIP LOCKED; the
retention of fired timers (a rule of the shared retention job).

Timers live in ``approval_timer`` so a restart loses none; several instances can run the job at
once because each claims one due row per transaction and skips rows another instance holds.

The job does not poll at a fixed rate: when nothing is due it sleeps until the earliest timer not
yet fired falls due, at most ``APPROVALS_TIMER_IDLE_POLL_SECONDS`` (the fallback, for timers another
instance wrote), and a unit of work of this process that scheduled a timer rings it awake after its
commit (``TIMER_BELL``), so a timer due sooner than the one it sleeps for is not late.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from backoffice_approvals.service.timers import fire_due_timer
from backoffice_approvals.service.uow import TIMER_BELL, ApprovalsUnitOfWork
from backoffice_approvals.settings import Settings
from backoffice_common.retention import Retention
from backoffice_common.wakeup import run_until_due_loop, until_due


async def timer_job(app: FastAPI) -> None:
    """The shared sleep-until-due loop (``backoffice_common.wakeup.run_until_due_loop``) over the timers."""
    settings: Settings = app.state.settings
    uow_factory: Callable[[], ApprovalsUnitOfWork] = app.state.uow_factory

    async def fire_one() -> bool:
        return await fire_due_timer(uow_factory=uow_factory, settings=settings)

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


async def idle_wait(uow_factory: Callable[[], ApprovalsUnitOfWork], settings: Settings) -> float:
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


def retention(settings: Settings) -> list[Retention]:
    """Timers that fired or were closed with their task are deleted after ``APPROVALS_FIRED_TIMER_RETENTION_DAYS``."""
    keep = timedelta(days=settings.fired_timer_retention_days)
    return [Retention("fired_timers", "approval_timer", "fired_at", keep, condition="fired_at IS NOT NULL")]
