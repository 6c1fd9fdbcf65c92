"""Background jobs: the timer job (overdue items, access escalations), claimed with SKIP LOCKED.

Timers live in ``checklist_timer`` so a restart loses none; several instances can run the job at
once because each claims one due row per transaction and skips rows another instance holds. With
nothing due the job sleeps until the earliest timer falls due (at most ``timer_idle_poll_seconds``),
and a commit of this process that sets an earlier timer rings it awake (``TIMER_BELL``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from fastapi import FastAPI

from backoffice_checklists.service.timers import fire_due_timer
from backoffice_checklists.service.uow import TIMER_BELL, ChecklistsUnitOfWork
from backoffice_checklists.settings import Settings

log = structlog.get_logger(__name__)

MIN_WAIT_SECONDS = 0.05


async def timer_job(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    if not settings.timers_enabled:
        return
    while True:
        try:
            mark = TIMER_BELL.mark()
            fired = 0
            while fired < settings.timer_batch_size and await fire_due_timer(
                uow_factory=app.state.uow_factory, max_attempts=settings.timer_max_attempts
            ):
                fired += 1
            if fired == 0:
                await TIMER_BELL.wait(await idle_wait(app.state.uow_factory, settings), since=mark)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("timers.failed", error=repr(exc))
            await asyncio.sleep(settings.timer_poll_seconds)


async def idle_wait(uow_factory: Callable[[], ChecklistsUnitOfWork], settings: Settings) -> float:
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
