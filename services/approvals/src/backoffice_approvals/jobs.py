"""Background jobs: the timer job (reminders, escalations, absence starts), claimed with SKIP LOCKED; the
retention of fired timers (a rule of the shared retention job).

Timers live in ``approval_timer`` so a restart loses none; several instances can run the job at
once because each claims one due row per transaction and skips rows another instance holds.

The job does not poll at a fixed rate: when nothing is due it sleeps until the earliest timer not
yet fired falls due, at most ``APPROVALS_TIMER_IDLE_POLL_SECONDS`` (the fallback, for timers another
instance wrote), and a unit of work of this process that scheduled a timer rings it awake after its
commit (``TIMER_BELL``), so a timer due sooner than the one it sleeps for is not late.

The job looks before it claims (``TimerSteps``): the earliest timer not yet fired, one statement on a read
connection. A claim's unit of work opens only when that timer is due, and when it is not the look is also the
time the job sleeps for: a wake-up that finds nothing due costs one statement, not two units of work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from backoffice_approvals.repository.timers import next_due_at_now
from backoffice_approvals.service.timers import fire_due_timer
from backoffice_approvals.service.uow import TIMER_BELL, ApprovalsUnitOfWork
from backoffice_approvals.settings import Settings
from backoffice_common.retention import Retention
from backoffice_common.wakeup import run_until_due_loop, until_due


class TimerSteps:
    """The two steps the shared loop takes (``do_one``, ``next_due_at``), with a look before the claim.

    ``fire_one`` looks first (``look``: when the earliest timer not yet fired falls due) and fires (``fire``: a
    claim, the timer's work and the commit in one unit of work) only when that time has come. When it has not,
    ``next_due_at`` answers with that look instead of reading again: the loop calls it right after the step that
    found nothing, and a timer this process schedules meanwhile rings the bell, whose mark the loop took before
    the step. After a claim that found nothing (the due timer is held by another instance) it reads anew."""

    def __init__(self, *, look: Callable[[], Awaitable[datetime | None]], fire: Callable[[], Awaitable[bool]]) -> None:
        self._look = look
        self._fire = fire
        self._looked: tuple[datetime | None] | None = None

    async def fire_one(self) -> bool:
        self._looked = None
        due = await self._look()
        if due is None or due > datetime.now(UTC):
            self._looked = (due,)
            return False
        return await self._fire()

    async def next_due_at(self) -> datetime | None:
        looked, self._looked = self._looked, None
        return looked[0] if looked is not None else await self._look()


async def timer_job(app: FastAPI) -> None:
    """The shared sleep-until-due loop (``backoffice_common.wakeup.run_until_due_loop``) over the timers."""
    settings: Settings = app.state.settings
    uow_factory: Callable[[], ApprovalsUnitOfWork] = app.state.uow_factory
    engine = app.state.engine

    async def fire() -> bool:
        return await fire_due_timer(uow_factory=uow_factory, settings=settings)

    async def look() -> datetime | None:
        return await next_due_at_now(engine)

    steps = TimerSteps(look=look, fire=fire)
    await run_until_due_loop(
        name="timers",
        bell=TIMER_BELL,
        do_one=steps.fire_one,
        next_due_at=steps.next_due_at,
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
