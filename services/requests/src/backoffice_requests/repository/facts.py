"""Rows kept for consumed facts: who was asked to approve a request, and facts that arrived early."""

from __future__ import annotations

import json

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.db import driver_connection
from backoffice_common.events import CloudEvent
from backoffice_common.strings import strip_nul

_REMEMBER_SQL = (
    "INSERT INTO approver_assignment (request_id, user_id, task_id, request_created_at)"
    " VALUES ($1::uuid, $2, $3, (SELECT created_at FROM purchase_request WHERE id = $1::uuid))"
    " ON CONFLICT (request_id, user_id) DO NOTHING"
)
_DEFERRED_SQL = "SELECT envelope FROM deferred_event WHERE request_id = $1::uuid ORDER BY occurred_at"
_DEFER_SQL = (
    "INSERT INTO deferred_event (event_id, request_id, envelope, occurred_at) VALUES ($1, $2::uuid, $3::jsonb, $4)"
    " ON CONFLICT (event_id) DO NOTHING"
)
_SIGNER_SQL = (
    "INSERT INTO buyer_signer (request_id, user_id) VALUES ($1::uuid, $2) ON CONFLICT (request_id, user_id) DO NOTHING"
)
_SIGNERS_SQL = "SELECT user_id FROM buyer_signer WHERE request_id = $1::uuid"


class ApproverRepository:
    """``approver_assignment``: the requests an approver was asked to approve (so they may see them)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def remember(self, *, request_id: str, user_id: str, task_id: str) -> None:
        """Raw asyncpg on the session's connection and transaction (every ``approval.task_assigned``): the
        statement the Core insert compiled to (``bench/consume_cpu.py`` compares the rows)."""
        conn = await driver_connection(self.session)
        await conn.execute(_REMEMBER_SQL, request_id, strip_nul(user_id)[:200], strip_nul(task_id))

    async def is_assigned(self, *, request_id: str, user_id: str) -> bool:
        # Raw asyncpg on the session's connection and transaction: every approver's GET asks it.
        conn = await driver_connection(self.session)
        assigned = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM approver_assignment WHERE request_id = $1::uuid AND user_id = $2)",
            request_id,
            user_id,
        )
        return bool(assigned)


class BuyerSignerRepository:
    """``buyer_signer``: who signed a request's contract for the buyer (the closure policy reads it)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def remember(self, *, request_id: str, user_id: str) -> None:
        conn = await driver_connection(self.session)
        await conn.execute(_SIGNER_SQL, request_id, strip_nul(user_id)[:200])

    async def of_request(self, request_id: str) -> frozenset[str]:
        """Raw asyncpg (every receipt and closure asks)."""
        conn = await driver_connection(self.session)
        return frozenset(row[0] for row in await conn.fetch(_SIGNERS_SQL, request_id))


class DeferredEventRepository:
    """``deferred_event``: facts read before the fact they follow, kept until the request catches up."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *, request_id: str, event: CloudEvent) -> None:
        """Raw asyncpg, as the whole fact path (the envelope serialised by ``json.dumps`` as SQLAlchemy's
        JSONB type did)."""
        conn = await driver_connection(self.session)
        envelope = json.dumps(strip_nul(event.model_dump(mode="json")))
        await conn.execute(_DEFER_SQL, event.id, request_id, envelope, event.time)

    async def of_request(self, request_id: str) -> list[CloudEvent]:
        """The request's deferred facts in the order they happened. Raw asyncpg (every applied fact asks,
        and there are almost never any)."""
        conn = await driver_connection(self.session)
        rows = await conn.fetch(_DEFERRED_SQL, request_id)
        return [CloudEvent.model_validate(row[0]) for row in rows]

    async def remove(self, event_id: str) -> None:
        conn = await driver_connection(self.session)
        await conn.execute("DELETE FROM deferred_event WHERE event_id = $1", event_id)
