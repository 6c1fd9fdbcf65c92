"""Deliveries (one row per email or webhook call), and which delivery first reached a vendor.

The delivery worker's statements (claim, outcome, next due time) and the insert of a new delivery run on
raw asyncpg through ``driver_connection`` (the session's connection and transaction): they are most of the
service's database work per order, and SQLAlchemy's compile and result layers cost more than the statements.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice_common.db import driver_connection, fetch_beginning, read_connection
from backoffice_notifications.domain.deliveries import FAILED, PENDING, WITHDRAWN, Delivery
from backoffice_notifications.models import delivery
from backoffice_notifications.repository.base import Repository

DELIVERY_CHANNEL = "notifications_deliveries"
"""LISTEN/NOTIFY channel: a commit that adds deliveries wakes the delivery workers (``backoffice_common.wakeup``)."""

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
_FIELDS = tuple(k for k in Delivery.__dataclass_fields__ if k != "events")
_INSERT_COLUMNS = ("id", "dedup_key", *_STORED)
# payload (JSONB) arrives as JSON text, cast; None is JSON null, as SQLAlchemy's JSONB stores it.
# A new row and, only if it was new, the NOTIFY that wakes the delivery workers at commit: one round trip.
_INSERT_SQL = (  # noqa: S608 (column names only)
    "WITH added AS (INSERT INTO delivery ({}) VALUES ({}) ON CONFLICT (dedup_key) DO NOTHING RETURNING id)"
    " SELECT id, pg_notify(${}, '') FROM added"
).format(
    ", ".join(_INSERT_COLUMNS),
    ", ".join(f"${n}::jsonb" if c == "payload" else f"${n}" for n, c in enumerate(_INSERT_COLUMNS, 1)),
    len(_INSERT_COLUMNS) + 1,
)
# The status is written into the statement, not bound: PostgreSQL's generic plan of a prepared statement can
# use the partial index ``ix_delivery_due`` (WHERE status = 'pending') only when the predicate says so itself.
_CLAIM_SQL = (
    f"SELECT {', '.join(_FIELDS)} FROM delivery"  # noqa: S608 (column names and a constant only)
    f" WHERE status = '{PENDING}' AND next_attempt_at <= $1 AND channel = $2"
    " ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED"
)
# The same claim, and whether more rows of the channel were due than it took (counted in the statement's
# snapshot, rows other workers hold included): a worker that took the last one need not claim again.
_CLAIM_MORE_SQL = (
    f"SELECT {', '.join(_FIELDS)}, (SELECT count(*) FROM (SELECT 1 FROM delivery"  # noqa: S608 (as above)
    f" WHERE status = '{PENDING}' AND next_attempt_at <= $1 AND channel = $2 LIMIT $3 + 1) AS due) > $3 AS more_due"
    f" FROM delivery WHERE status = '{PENDING}' AND next_attempt_at <= $1 AND channel = $2"
    " ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED"
)
# The same claim, and how many rows of the channel were due (counted up to $4 in the statement's snapshot, the
# claimed ones and those other workers hold included): the worker tells from it, and from what the other workers
# of its process hold, whether an email is left for it.
_CLAIM_COUNTED_SQL = (
    f"SELECT {', '.join(_FIELDS)}, (SELECT count(*) FROM (SELECT 1 FROM delivery"  # noqa: S608 (as above)
    f" WHERE status = '{PENDING}' AND next_attempt_at <= $1 AND channel = $2 LIMIT $4) AS due) AS due_count"
    f" FROM delivery WHERE status = '{PENDING}' AND next_attempt_at <= $1 AND channel = $2"
    " ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED"
)
_SAVE_SQL = "UPDATE delivery SET status = $2, attempts = $3, last_error = $4, sent_at = $5 WHERE id = $1"
_SAVE_DUE_SQL = (
    "UPDATE delivery SET status = $2, attempts = $3, last_error = $4, sent_at = $5, next_attempt_at = $6 WHERE id = $1"
)
_NEXT_DUE_SQL = f"SELECT min(next_attempt_at) FROM delivery WHERE status = '{PENDING}'"  # noqa: S608 (a constant)
# Per channel: the earliest pending delivery (through ``ix_delivery_due`` in order: the channel's first row ends
# the scan) and how many are due at $1, counted up to $2: what the worker looks at before a pass and before it
# sleeps. Rows other workers hold count as due (the look locks nothing).
_DUE_OF_CHANNEL = (
    "(SELECT next_attempt_at FROM delivery WHERE status = '{status}' AND channel = '{channel}'"
    " ORDER BY next_attempt_at LIMIT 1) AS {channel}_at,"
    " (SELECT count(*) FROM (SELECT 1 FROM delivery WHERE status = '{status}' AND channel = '{channel}'"
    " AND next_attempt_at <= $1 LIMIT $2) AS due) AS {channel}_due"
)
_DUE_TIMES_SQL = "SELECT " + ", ".join(_DUE_OF_CHANNEL.format(status=PENDING, channel=c) for c in ("email", "webhook"))


@dataclass(frozen=True)
class DueTimes:
    """Per channel, when the earliest pending delivery falls due (None: none pending) and how many are due now
    (counted up to the look's cap)."""

    email: datetime | None
    webhook: datetime | None
    emails_due: int = 0
    webhooks_due: int = 0

    @property
    def earliest(self) -> datetime | None:
        return min((t for t in (self.email, self.webhook) if t is not None), default=None)


async def due_times(engine: AsyncEngine, *, now: datetime, cap: int) -> DueTimes:
    """One statement on a pooled connection outside any transaction (no BEGIN, no ROLLBACK, no session): it
    reads, locks nothing, and sees what was committed when it began."""
    async with read_connection(engine) as conn:
        row = await conn.fetchrow(_DUE_TIMES_SQL, now, cap)
    if row is None:  # one row, always
        return DueTimes(email=None, webhook=None)
    return DueTimes(email=row[0], webhook=row[2], emails_due=row[1], webhooks_due=row[3])


class DeliveryRepository(Repository):
    async def add(self, new: Delivery) -> bool:
        """False when the same (event, recipient, template) was recorded before."""
        values = [getattr(new, k) for k in _STORED]
        values[_STORED.index("payload")] = json.dumps(new.payload)
        conn = await driver_connection(self.session)
        return await conn.fetchval(_INSERT_SQL, new.id, new.dedup_key, *values, DELIVERY_CHANNEL) is not None

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
        conn = await driver_connection(self.session)
        due: datetime | None = await conn.fetchval(_NEXT_DUE_SQL)
        return due

    async def claim_due(self, *, now: datetime, limit: int, channel: str) -> list[Delivery]:
        """Due deliveries of a channel, locked until the transaction ends; rows other workers hold are skipped."""
        rows = await fetch_beginning(self.session, _CLAIM_SQL, now, channel, limit)
        return [self._loaded(row) for row in rows]

    async def claim_due_and_more(self, *, now: datetime, limit: int, channel: str) -> tuple[list[Delivery], bool]:
        """``claim_due``, and whether more than ``limit`` rows of the channel were due (False when none was
        claimed): the worker's loop stops after the last one instead of claiming once more to find nothing."""
        rows = await fetch_beginning(self.session, _CLAIM_MORE_SQL, now, channel, limit)
        return [self._loaded(row) for row in rows], bool(rows) and bool(rows[0]["more_due"])

    async def claim_due_counted(
        self, *, now: datetime, limit: int, channel: str, cap: int
    ) -> tuple[list[Delivery], int]:
        """``claim_due``, and how many rows of the channel were due (up to ``cap``; 0 when none was claimed),
        those claimed and those other workers hold included."""
        rows = await fetch_beginning(self.session, _CLAIM_COUNTED_SQL, now, channel, limit, cap)
        return [self._loaded(row) for row in rows], int(rows[0]["due_count"]) if rows else 0

    async def save(self, changed: Delivery) -> None:
        """The outcome of an attempt; ``next_attempt_at`` is left as it is when the delivery has none."""
        c = changed
        conn = await driver_connection(self.session)
        if c.next_attempt_at is None:
            await conn.execute(_SAVE_SQL, c.id, c.status, c.attempts, c.last_error, c.sent_at)
        else:
            await conn.execute(_SAVE_DUE_SQL, c.id, c.status, c.attempts, c.last_error, c.sent_at, c.next_attempt_at)

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
        conn = await driver_connection(self.session)
        first = await conn.fetchval(
            "INSERT INTO vendor_notification (request_id, revision, vendor_id, channel) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT DO NOTHING RETURNING request_id",
            sent.request_id,
            sent.revision,
            sent.vendor_id,
            sent.channel,
        )
        return first is not None

    def _loaded(self, row: Any) -> Delivery:
        found = Delivery(**{k: row[k] for k in Delivery.__dataclass_fields__ if k != "events"})
        self.track(found)
        return found
