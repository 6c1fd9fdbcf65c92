"""Rows kept for consumed facts: who was asked to approve a request, and facts that arrived early."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.db import driver_connection
from backoffice_common.events import CloudEvent
from backoffice_common.strings import strip_nul
from backoffice_requests.models import buyer_signer, deferred_event

_REMEMBER_SQL = (
    "INSERT INTO approver_assignment (request_id, user_id, task_id, request_created_at)"
    " VALUES ($1::uuid, $2, $3, (SELECT created_at FROM purchase_request WHERE id = $1::uuid))"
    " ON CONFLICT (request_id, user_id) DO NOTHING"
)
_DEFERRED_SQL = "SELECT envelope FROM deferred_event WHERE request_id = $1::uuid ORDER BY occurred_at"


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
        await self.session.execute(
            pg_insert(buyer_signer)
            .values(request_id=request_id, user_id=strip_nul(user_id)[:200])
            .on_conflict_do_nothing(index_elements=["request_id", "user_id"])
        )

    async def of_request(self, request_id: str) -> frozenset[str]:
        rows = await self.session.execute(select(buyer_signer.c.user_id).where(buyer_signer.c.request_id == request_id))
        return frozenset(rows.scalars())


class DeferredEventRepository:
    """``deferred_event``: facts read before the fact they follow, kept until the request catches up."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *, request_id: str, event: CloudEvent) -> None:
        await self.session.execute(
            pg_insert(deferred_event)
            .values(
                event_id=event.id,
                request_id=request_id,
                envelope=strip_nul(event.model_dump(mode="json")),
                occurred_at=event.time,
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
        )

    async def of_request(self, request_id: str) -> list[CloudEvent]:
        """The request's deferred facts in the order they happened. Raw asyncpg (every applied fact asks,
        and there are almost never any)."""
        conn = await driver_connection(self.session)
        rows = await conn.fetch(_DEFERRED_SQL, request_id)
        return [CloudEvent.model_validate(row[0]) for row in rows]

    async def remove(self, event_id: str) -> None:
        await self.session.execute(delete(deferred_event).where(deferred_event.c.event_id == event_id))
