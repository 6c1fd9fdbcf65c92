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

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from fastapi import FastAPI

from backoffice_approvals.service.timers import fire_due_timer
from backoffice_approvals.service.uow import TIMER_BELL, ApprovalsUnitOfWork
from backoffice_approvals.settings import Settings
from backoffice_common.retention import Retention

log = structlog.get_logger(__name__)

MIN_WAIT_SECONDS = 0.05


async def timer_job(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    while True:
        try:
            mark = TIMER_BELL.mark()
            fired = 0
            while fired < settings.timer_batch_size and await fire_due_timer(
                uow_factory=app.state.uow_factory, settings=settings
            ):
                fired += 1
            if fired == 0:
                await TIMER_BELL.wait(await idle_wait(app.state.uow_factory, settings), since=mark)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("timers.failed", error=repr(exc))
            await asyncio.sleep(settings.timer_poll_seconds)


async def idle_wait(uow_factory: Callable[[], ApprovalsUnitOfWork], settings: Settings) -> float:
    """Seconds until the earliest timer not yet fired falls due, at most ``timer_idle_poll_seconds``.

    A timer already due that this instance could not claim is held by another instance (SKIP
    LOCKED): it is looked at again after ``timer_poll_seconds``, as the fixed poll did."""
    async with uow_factory() as uow:
        due = await uow.timers.next_due_at()
    longest = max(settings.timer_poll_seconds, settings.timer_idle_poll_seconds)
    if due is None:
        return longest
    wait = (due - datetime.now(UTC)).total_seconds()
    if wait <= 0:
        return settings.timer_poll_seconds
    return min(longest, max(MIN_WAIT_SECONDS, wait))


def retention(settings: Settings) -> list[Retention]:
    """Timers that fired or were closed with their task are deleted after ``APPROVALS_FIRED_TIMER_RETENTION_DAYS``."""
    keep = timedelta(days=settings.fired_timer_retention_days)
    return [Retention("fired_timers", "approval_timer", "fired_at", keep, condition="fired_at IS NOT NULL")]
