"""The order read model (order_view) and which order revisions reached their vendor.

The snapshot upsert (every ``submitted`` and ``approved``), the order's read and its save run on raw asyncpg
through ``driver_connection`` (the session's connection and transaction): no SQLAlchemy compile or result layer.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from backoffice_common.db import driver_connection
from backoffice_notifications.domain.orders import Order
from backoffice_notifications.domain.vendors import Vendor
from backoffice_notifications.models import vendor_notification
from backoffice_notifications.repository.base import Repository
from backoffice_notifications.repository.vendors import joined, joined_columns

# A cancelled order (domain.orders.CANCELLED) stays cancelled; the revision rule is ``strictly_newer``'s.
_UPSERT_HEAD = (
    "INSERT INTO order_view (request_id, revision, vendor_id, status, snapshot) VALUES ($1, $2, $3, $4, $5::jsonb)"
    " ON CONFLICT (request_id) DO UPDATE SET revision = excluded.revision, vendor_id = excluded.vendor_id,"
    " status = excluded.status, snapshot = excluded.snapshot, updated_at = now()"
    " WHERE order_view.status != 'cancelled' AND order_view.revision "
)
_UPSERT_NEWER_SQL = _UPSERT_HEAD + "< excluded.revision RETURNING request_id"
_UPSERT_SAME_OR_NEWER_SQL = _UPSERT_HEAD + "<= excluded.revision RETURNING request_id"
_COLUMNS = "request_id, revision, vendor_id, status, snapshot, sent_to_vendor_id"
# The upsert returning the stored row, with its vendor's (``vendor_id``'s) row joined: ``approved`` sends it.
_UPSERT_WITH_VENDOR_SQL = (
    "WITH up AS (" + _UPSERT_HEAD + "<= excluded.revision RETURNING " + _COLUMNS + ")"  # noqa: S608 (column names only)
    " SELECT up.*, " + joined_columns("v") + " FROM up LEFT JOIN vendor v ON v.id = up.vendor_id"
)
_GET_SQL = "SELECT " + _COLUMNS + " FROM order_view WHERE request_id = $1"  # noqa: S608 (column names only)
# An order and a vendor, each None when not found (a generated contract's emails need both).
_GET_WITH_VENDOR_SQL = (
    "SELECT o.request_id, o.revision, o.vendor_id, o.status, o.snapshot, o.sent_to_vendor_id, "  # noqa: S608
    + joined_columns("v")
    + " FROM (VALUES (1)) AS one LEFT JOIN order_view o ON o.request_id = $1 LEFT JOIN vendor v ON v.id = $2"
)


def _order(row: Any) -> Order:
    return Order(
        request_id=row["request_id"],
        revision=row["revision"],
        vendor_id=row["vendor_id"],
        status=row["status"],
        snapshot=dict(row["snapshot"]),
        sent_to_vendor_id=row["sent_to_vendor_id"],
    )


class OrderRepository(Repository):
    async def save_snapshot(self, snapshot: dict[str, Any], *, status: str, strictly_newer: bool = False) -> bool:
        """Keeps the newest revision; False when the incoming one is older than what we hold.

        ``strictly_newer`` keeps a late ``submitted`` from undoing the ``approved`` of the same revision.
        A cancelled order stays cancelled: the requests topic can run ahead of the approvals topic, so an
        ``approved`` may be read after the ``cancelled`` that followed it.
        """
        conn = await driver_connection(self.session)
        stored = await conn.fetchval(
            _UPSERT_NEWER_SQL if strictly_newer else _UPSERT_SAME_OR_NEWER_SQL,
            snapshot["request_id"],
            snapshot["revision"],
            snapshot.get("vendor_id"),
            status,
            json.dumps(snapshot),
        )
        return stored is not None

    async def upsert(self, snapshot: dict[str, Any], *, status: str) -> tuple[Order, Vendor | None] | None:
        """``save_snapshot`` (the same revision or a newer one kept) returning the order as stored, as ``get``
        would read it right after in this transaction (the jsonb snapshot as stored, ``sent_to_vendor_id`` as
        held), and its vendor as ``VendorRepository.get`` reads it (None: unknown); None when the incoming
        revision is older or the order cancelled. One statement instead of three."""
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(
            _UPSERT_WITH_VENDOR_SQL,
            snapshot["request_id"],
            snapshot["revision"],
            snapshot.get("vendor_id"),
            status,
            json.dumps(snapshot),
        )
        if row is None:
            return None
        return self._tracked(row)

    async def get_with_vendor(self, request_id: str, vendor_id: str | None) -> tuple[Order | None, Vendor | None]:
        """``get(request_id)`` and ``VendorRepository.get(vendor_id)`` in one statement."""
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(_GET_WITH_VENDOR_SQL, request_id, vendor_id)
        assert row is not None  # one row, always
        if row["request_id"] is None:
            found = joined(row)
            if found is not None:
                self.track(found)
            return None, found
        return self._tracked(row)

    def _tracked(self, row: Any) -> tuple[Order, Vendor | None]:
        order = _order(row)
        self.track(order)
        found = joined(row)
        if found is not None:
            self.track(found)
        return order, found

    async def get(self, request_id: str, *, lock: bool = False) -> Order | None:
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(_GET_SQL + " FOR UPDATE" if lock else _GET_SQL, request_id)
        if row is None:
            return None
        order = _order(row)
        self.track(order)
        return order

    async def save(self, order: Order) -> None:
        conn = await driver_connection(self.session)
        await conn.execute(
            "UPDATE order_view SET status = $2, sent_to_vendor_id = $3 WHERE request_id = $1",
            order.request_id,
            order.status,
            order.sent_to_vendor_id,
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
