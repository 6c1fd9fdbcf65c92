"""The order read model (order_view) and which order revisions reached their vendor."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backoffice_notifications.domain.orders import CANCELLED, Order
from backoffice_notifications.models import order_view, vendor_notification
from backoffice_notifications.repository.base import Repository


class OrderRepository(Repository):
    async def save_snapshot(self, snapshot: dict[str, Any], *, status: str, strictly_newer: bool = False) -> bool:
        """Keeps the newest revision; False when the incoming one is older than what we hold.

        ``strictly_newer`` keeps a late ``submitted`` from undoing the ``approved`` of the same revision.
        A cancelled order stays cancelled: the requests topic can run ahead of the approvals topic, so an
        ``approved`` may be read after the ``cancelled`` that followed it.
        """
        values = {
            "request_id": snapshot["request_id"],
            "revision": snapshot["revision"],
            "vendor_id": snapshot.get("vendor_id"),
            "status": status,
            "snapshot": snapshot,
        }
        stmt = pg_insert(order_view).values(**values)
        newer = order_view.c.revision < stmt.excluded.revision
        same_or_newer = order_view.c.revision <= stmt.excluded.revision
        upsert = stmt.on_conflict_do_update(
            index_elements=["request_id"],
            set_={
                **{k: stmt.excluded[k] for k in ("revision", "vendor_id", "status", "snapshot")},
                "updated_at": func.now(),
            },
            where=and_(order_view.c.status != CANCELLED, newer if strictly_newer else same_or_newer),
        ).returning(order_view.c.request_id)
        return (await self.session.execute(upsert)).scalar_one_or_none() is not None

    async def get(self, request_id: str, *, lock: bool = False) -> Order | None:
        query = select(order_view).where(order_view.c.request_id == request_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        if row is None:
            return None
        order = Order(
            request_id=row["request_id"],
            revision=row["revision"],
            vendor_id=row["vendor_id"],
            status=row["status"],
            snapshot=dict(row["snapshot"]),
            sent_to_vendor_id=row["sent_to_vendor_id"],
        )
        self.track(order)
        return order

    async def save(self, order: Order) -> None:
        await self.session.execute(
            order_view.update()
            .where(order_view.c.request_id == order.request_id)
            .values(status=order.status, sent_to_vendor_id=order.sent_to_vendor_id)
        )

    async def reached_vendor(self, *, request_id: str, vendor_id: str | None) -> bool:
        """Whether any revision of the order was delivered to this vendor (vendor.notified recorded)."""
        if vendor_id is None:
            return False
        found = await self.session.scalar(
            select(vendor_notification.c.request_id)
            .where(vendor_notification.c.request_id == request_id, vendor_notification.c.vendor_id == vendor_id)
            .limit(1)
        )
        return found is not None
