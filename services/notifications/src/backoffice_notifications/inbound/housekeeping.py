"""Forgets received webhook ids once their timestamps are too old to be accepted anyway."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import structlog
from fastapi import FastAPI

from backoffice_notifications.models import received_webhook
from backoffice_notifications.settings import Settings

log = structlog.get_logger(__name__)
PURGE_INTERVAL_SECONDS = 600


async def purge_received_webhooks(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    while True:
        try:
            cutoff = datetime.now(UTC) - timedelta(seconds=3 * settings.webhook_tolerance_seconds)
            async with app.state.uow_factory() as uow:
                await uow.session.execute(received_webhook.delete().where(received_webhook.c.received_at < cutoff))
                await uow.commit()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("webhook_ids.purge_failed", error=repr(exc))
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)
