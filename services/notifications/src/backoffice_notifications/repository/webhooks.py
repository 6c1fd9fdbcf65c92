"""Webhook ids received from vendors (replay protection)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert

from backoffice_notifications.models import received_webhook
from backoffice_notifications.repository.base import Repository


class ReceivedWebhookRepository(Repository):
    async def remember(self, *, vendor_id: str, webhook_id: str) -> bool:
        """False when this vendor sent this webhook id before."""
        fresh = await self.session.execute(
            pg_insert(received_webhook)
            .values(vendor_id=vendor_id, webhook_id=webhook_id)
            .on_conflict_do_nothing()
            .returning(received_webhook.c.webhook_id)
        )
        return fresh.scalar_one_or_none() is not None

    async def forget_before(self, cutoff: datetime) -> None:
        await self.session.execute(received_webhook.delete().where(received_webhook.c.received_at < cutoff))
