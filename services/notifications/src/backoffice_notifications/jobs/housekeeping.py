"""Forgets received webhook ids once their timestamps are too old to be accepted anyway."""

from __future__ import annotations

import asyncio

import structlog
from fastapi import FastAPI

from backoffice_notifications.service.uow import notifications_uow
from backoffice_notifications.service.webhook import forget_old_webhook_ids
from backoffice_notifications.settings import Settings

log = structlog.get_logger(__name__)
PURGE_INTERVAL_SECONDS = 600


async def purge_received_webhooks(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    while True:
        try:
            async with app.state.uow_factory() as uow:
                await forget_old_webhook_ids(notifications_uow(uow), settings=settings)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("webhook_ids.purge_failed", error=repr(exc))
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)
