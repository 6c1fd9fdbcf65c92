"""Deliveries (one row per email or webhook call), and which delivery first reached a vendor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backoffice_common.wakeup import notify_after_commit
from backoffice_notifications.domain.deliveries import FAILED, PENDING, WITHDRAWN, Delivery
from backoffice_notifications.models import delivery, vendor_notification
from backoffice_notifications.repository.base import Repository

DELIVERY_CHANNEL = "notifications_deliveries"
"""LISTEN/NOTIFY channel: a commit that adds deliveries wakes the delivery workers."""

_STORED = (
    "event_id",
    "correlation_id",
    "request_id",
    "revision",
    "vendor_id",
    "channel",
    "recipient",
    "template",
    "language",
    "subject",
    "body_text",
    "body_html",
    "payload",
    "notifies_vendor",
    "status",
)
_OUTCOME = ("status", "attempts", "next_attempt_at", "last_error", "sent_at")


class DeliveryRepository(Repository):
    async def add(self, new: Delivery) -> bool:
        """False when the same (event, recipient, template) was recorded before."""
        values = {k: getattr(new, k) for k in _STORED}
        stmt = pg_insert(delivery).values(id=new.id, dedup_key=new.dedup_key, **values)
        result = await self.session.execute(
            stmt.on_conflict_do_nothing(index_elements=["dedup_key"]).returning(delivery.c.id)
        )
        inserted = result.scalar_one_or_none() is not None
        if inserted:
            await notify_after_commit(self.session, DELIVERY_CHANNEL)
        return inserted

    async def get(self, delivery_id: str, *, lock: bool = False) -> Delivery | None:
        query = select(delivery).where(delivery.c.id == delivery_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        return None if row is None else self._loaded(row)

    async def page(self, *, request_id: str | None, status: str | None, limit: int) -> list[Delivery]:
        query = select(delivery).order_by(delivery.c.created_at.desc()).limit(limit)
        if request_id is not None:
            query = query.where(delivery.c.request_id == request_id)
        if status is not None:
            query = query.where(delivery.c.status == status)
        return [self._loaded(row) for row in (await self.session.execute(query)).mappings().all()]

    async def next_due(self) -> datetime | None:
        """When the earliest pending delivery (of any channel) falls due; None when nothing is pending."""
        query = select(func.min(delivery.c.next_attempt_at)).where(delivery.c.status == PENDING)
        due: datetime | None = (await self.session.execute(query)).scalar_one_or_none()
        return due

    async def claim_due(self, *, now: datetime, limit: int, channel: str) -> list[Delivery]:
        """Due deliveries of a channel, locked until the transaction ends; rows other workers hold are skipped."""
        query = (
            select(delivery)
            .where(delivery.c.status == PENDING, delivery.c.next_attempt_at <= now, delivery.c.channel == channel)
            .order_by(delivery.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [self._loaded(row) for row in (await self.session.execute(query)).mappings().all()]

    async def save(self, changed: Delivery) -> None:
        values = {k: getattr(changed, k) for k in _OUTCOME}
        if values["next_attempt_at"] is None:
            del values["next_attempt_at"]
        await self.session.execute(delivery.update().where(delivery.c.id == changed.id).values(**values))

    async def withdraw_orders(self, *, request_id: str) -> None:
        """Order deliveries not sent yet (e.g. retrying) are withdrawn: the order changed under them."""
        await self.session.execute(
            delivery.update()
            .where(
                delivery.c.request_id == request_id,
                delivery.c.template == "purchase_order",
                delivery.c.status.in_((PENDING, FAILED)),
            )
            .values(status=WITHDRAWN, last_error="withdrawn: the order was cancelled or reassigned")
        )

    async def first_to_reach_vendor(self, sent: Delivery) -> bool:
        """Records that the order revision reached its vendor; True only for the first delivery that did."""
        result = await self.session.execute(
            pg_insert(vendor_notification)
            .values(request_id=sent.request_id, revision=sent.revision, vendor_id=sent.vendor_id, channel=sent.channel)
            .on_conflict_do_nothing()
            .returning(vendor_notification.c.request_id)
        )
        return result.scalar_one_or_none() is not None

    def _loaded(self, row: Any) -> Delivery:
        found = Delivery(**{k: row[k] for k in Delivery.__dataclass_fields__ if k != "events"})
        self.track(found)
        return found
