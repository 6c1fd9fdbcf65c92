"""Background jobs of the requests service: Idempotency-Key retention."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from fastapi import FastAPI

from backoffice_common.app import BackgroundJob
from backoffice_requests.service.housekeeping import expire_idempotency_keys
from backoffice_requests.settings import Settings

EXPIRY_INTERVAL_SECONDS = 600.0

log = structlog.get_logger(__name__)


def idempotency_key_expiry(settings: Settings) -> BackgroundJob:
    """Every ten minutes, forget the Idempotency-Keys older than ``REQUESTS_IDEMPOTENCY_RETENTION_HOURS``."""
    retention = timedelta(hours=settings.idempotency_retention_hours)

    async def expire_idempotency_keys_job(app: FastAPI) -> None:
        while True:
            try:
                async with app.state.uow_factory() as uow:
                    await expire_idempotency_keys(uow=uow, older_than=retention)
            except Exception as exc:
                log.warning("idempotency.expiry_failed", error=repr(exc))
            await asyncio.sleep(EXPIRY_INTERVAL_SECONDS)

    return expire_idempotency_keys_job
