"""Webhook ids received from vendors (replay protection)."""

from __future__ import annotations

from datetime import datetime

from backoffice_common.db import driver_connection
from backoffice_notifications.models import received_webhook
from backoffice_notifications.repository.base import Repository


class ReceivedWebhookRepository(Repository):
    async def remember(self, *, vendor_id: str, webhook_id: str) -> bool:
        """False when this vendor sent this webhook id before."""
        conn = await driver_connection(self.session)  # raw asyncpg: every webhook a vendor sends
        fresh = await conn.fetchval(
            "INSERT INTO received_webhook (vendor_id, webhook_id) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING RETURNING webhook_id",
            vendor_id,
            webhook_id,
        )
        return fresh is not None

    async def forget_before(self, cutoff: datetime) -> None:
        await self.session.execute(received_webhook.delete().where(received_webhook.c.received_at < cutoff))
