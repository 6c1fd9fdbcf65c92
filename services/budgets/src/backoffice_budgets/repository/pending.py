"""Held-back events of a request (domain/ordering.py), in arrival order; read under the request's hold lock.

``of`` runs for every request event (raw asyncpg on the session's transaction: usually it finds nothing);
``hold_back`` and ``remove`` too."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_budgets.models import pending_event
from backoffice_common.db import driver_connection
from backoffice_common.events import CloudEvent

_OF_SQL = "SELECT seq, event, waiting_for FROM pending_event WHERE request_id = $1 ORDER BY seq"
_HOLD_BACK_SQL = (
    "INSERT INTO pending_event (request_id, revision, event_id, event_type, waiting_for, event)"
    " VALUES ($1, $2, $3, $4, $5, $6::text::jsonb) ON CONFLICT (event_id) DO NOTHING"
)
_REMOVE_SQL = "DELETE FROM pending_event WHERE seq = $1"


@dataclass(frozen=True)
class Held:
    seq: int
    event: CloudEvent
    waiting_for: str


class PendingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of(self, request_id: str) -> list[Held]:
        conn = await driver_connection(self.session)
        rows = await conn.fetch(_OF_SQL, request_id)
        return [Held(r["seq"], CloudEvent.model_validate(r["event"]), r["waiting_for"]) for r in rows]

    async def hold_back(self, request_id: str, revision: int | None, event: CloudEvent, waiting_for: str) -> None:
        """Keep the event (once: a redelivery of a held-back event adds nothing)."""
        document: dict[str, Any] = event.model_dump(mode="json", exclude_none=True)
        conn = await driver_connection(self.session)
        await conn.execute(
            _HOLD_BACK_SQL, request_id, revision, event.id, event.type, waiting_for[:300], json.dumps(document)
        )

    async def remove(self, seq: int) -> None:
        conn = await driver_connection(self.session)
        await conn.execute(_REMOVE_SQL, seq)

    async def page(self, *, request_id: str | None, after_seq: int | None, limit: int) -> Sequence[Any]:
        c = pending_event.c
        stmt = select(c.seq, c.request_id, c.revision, c.event_id, c.event_type, c.waiting_for, c.received_at)
        if request_id is not None:
            stmt = stmt.where(c.request_id == request_id)
        if after_seq is not None:
            stmt = stmt.where(c.seq > after_seq)
        return (await self.session.execute(stmt.order_by(c.seq).limit(limit))).all()
