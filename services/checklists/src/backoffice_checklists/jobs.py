"""Background jobs: the timer job (overdue items, access escalations), claimed with SKIP LOCKED.

Timers live in ``checklist_timer`` so a restart loses none; several instances can run the job at
once because each claims one due row per transaction and skips rows another instance holds.
"""

from __future__ import annotations

import asyncio

import structlog
from fastapi import FastAPI

from backoffice_checklists.service.timers import fire_due_timer
from backoffice_checklists.settings import Settings

log = structlog.get_logger(__name__)


async def timer_job(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    if not settings.timers_enabled:
        return
    while True:
        try:
            fired = 0
            while fired < settings.timer_batch_size and await fire_due_timer(
                uow_factory=app.state.uow_factory, max_attempts=settings.timer_max_attempts
            ):
                fired += 1
            if fired == 0:
                await asyncio.sleep(settings.timer_poll_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("timers.failed", error=repr(exc))
            await asyncio.sleep(settings.timer_poll_seconds)
