"""The budget-check read model (``budget_check``) and submissions waiting for it (``pending_route``).

Every submission and every ``budget.checked`` takes the request's lock and reads or writes these rows, so
the statements are raw asyncpg on the session's connection and transaction (``driver_connection``). JSON
travels as text cast to ``jsonb``; a None is stored as JSON ``null``, as SQLAlchemy's JSONB stored it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_approvals.domain.budget import BudgetCheck
from backoffice_common.db import driver_connection

_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended($1, 17))"
_RECORD_SQL = (
    "INSERT INTO budget_check (request_id, revision, event_id, status, reason, over_by, currency, owner)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb) ON CONFLICT (request_id, revision) DO NOTHING"
    " RETURNING request_id"
)
_GET_SQL = (
    "SELECT request_id, revision, status, reason, over_by, currency, owner, event_id, received_at"
    " FROM budget_check WHERE request_id = $1 AND revision = $2"
)
_PENDING_COLUMNS = "id, request_id, revision, snapshot, submitted_event, created_at"
_ADD_SQL = (
    "INSERT INTO pending_route (id, request_id, revision, snapshot, submitted_event)"
    " VALUES ($1, $2, $3, $4::text::jsonb, $5::text::jsonb) ON CONFLICT (request_id, revision) DO NOTHING"
)
# A submission that stops waiting (its check arrived, a newer revision or a cancellation) closes its
# ``budget_wait`` timer in the same statement: the timer job then has nothing to fire 60 s later (a
# claim, a peek that finds nothing waiting, the mark: a unit of work per flow for nothing). A timer the
# job holds at that moment (it fell due just now) is skipped, not waited for: that job waits for the
# request's lock this transaction holds, then finds nothing waiting, as before.
_CLOSE_WAIT = (
    "closed AS (UPDATE approval_timer SET fired_at = now() WHERE id IN ("
    "SELECT a.id FROM approval_timer a JOIN gone ON a.ref_id = gone.id"
    " WHERE a.kind = 'budget_wait' AND a.fired_at IS NULL FOR UPDATE OF a SKIP LOCKED))"
)
_TAKE_SQL = (
    f"WITH gone AS (DELETE FROM pending_route WHERE request_id = $1 AND revision = $2 RETURNING {_PENDING_COLUMNS}),"  # noqa: S608
    f" {_CLOSE_WAIT} SELECT {_PENDING_COLUMNS} FROM gone"
)
_PEEK_SQL = f"SELECT {_PENDING_COLUMNS} FROM pending_route WHERE id = $1"  # noqa: S608
_TAKE_BY_ID_SQL = f"DELETE FROM pending_route WHERE id = $1 RETURNING {_PENDING_COLUMNS}"  # noqa: S608
_DROP_SQL = (
    "WITH gone AS (DELETE FROM pending_route WHERE request_id = $1 AND revision <= $2 RETURNING id),"  # noqa: S608
    f" {_CLOSE_WAIT} SELECT id FROM gone"
)


@dataclass(frozen=True)
class Waiting:
    """A ``pending_route`` row."""

    id: str
    request_id: str
    revision: int
    snapshot: dict[str, Any]
    submitted_event: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, record: Any) -> Waiting | None:
        return cls(**dict(record.items())) if record is not None else None


class BudgetCheckRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_request(self, request_id: str) -> None:
        """Serialise this transaction with any other about the same request's budget check
        (a submission and its check arrive on two topics, possibly at once)."""
        conn = await driver_connection(self.session)
        await conn.execute(_LOCK_SQL, request_id)

    async def record(self, *, request_id: str, revision: int, check: BudgetCheck, event_id: str) -> bool:
        """Store a revision's check; False when one was stored already (the first one stays)."""
        v = check.as_dict()
        conn = await driver_connection(self.session)
        stored = await conn.fetchval(
            _RECORD_SQL,
            request_id,
            revision,
            event_id,
            v["status"],
            v["reason"],
            v["over_by"],
            v["currency"],
            json.dumps(v["owner"]),
        )
        return stored is not None

    async def get(self, request_id: str, revision: int) -> BudgetCheck | None:
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(_GET_SQL, request_id, revision)
        return BudgetCheck.from_dict(dict(row.items())) if row is not None else None


class PendingRouteRepository:
    """Submitted revisions whose chain start waits for the budget check."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, *, id: str, request_id: str, revision: int, snapshot: dict[str, Any], submitted_event: dict[str, Any]
    ) -> None:
        conn = await driver_connection(self.session)
        await conn.execute(_ADD_SQL, id, request_id, revision, json.dumps(snapshot), json.dumps(submitted_event))

    async def take(self, *, request_id: str, revision: int) -> Waiting | None:
        """The waiting submission of this revision, removed (locked until commit), and its ``budget_wait`` timer
        closed; None if none waits."""
        conn = await driver_connection(self.session)
        return Waiting.of(await conn.fetchrow(_TAKE_SQL, request_id, revision))

    async def peek(self, pending_id: str) -> Waiting | None:
        conn = await driver_connection(self.session)
        return Waiting.of(await conn.fetchrow(_PEEK_SQL, pending_id))

    async def take_by_id(self, pending_id: str) -> Waiting | None:
        conn = await driver_connection(self.session)
        return Waiting.of(await conn.fetchrow(_TAKE_BY_ID_SQL, pending_id))

    async def drop(self, *, request_id: str, up_to_revision: int) -> int:
        """Forget the waiting submissions of a request up to a revision (revised or cancelled), their
        ``budget_wait`` timers closed."""
        conn = await driver_connection(self.session)
        return len(await conn.fetch(_DROP_SQL, request_id, up_to_revision))
