"""Background jobs: the timer job (reminders, escalations, absence starts), claimed with SKIP LOCKED; the
retention of fired timers (a rule of the shared retention job).

Timers live in ``approval_timer`` so a restart loses none; several instances can run the job at
once because each claims one due row per transaction and skips rows another instance holds.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from fastapi import FastAPI

from backoffice_approvals.service.timers import fire_due_timer
from backoffice_approvals.settings import Settings
from backoffice_common.retention import Retention

log = structlog.get_logger(__name__)


async def timer_job(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    while True:
        try:
            fired = 0
            while fired < settings.timer_batch_size and await fire_due_timer(
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


def retention(settings: Settings) -> list[Retention]:
    """Timers that fired or were closed with their task are deleted after ``APPROVALS_FIRED_TIMER_RETENTION_DAYS``."""
    keep = timedelta(days=settings.fired_timer_retention_days)
    return [Retention("fired_timers", "approval_timer", "fired_at", keep, condition="fired_at IS NOT NULL")]
