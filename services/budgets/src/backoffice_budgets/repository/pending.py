"""Held-back events of a request (domain/ordering.py), in arrival order; read under the request's hold lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_budgets.models import pending_event
from backoffice_common.events import CloudEvent


@dataclass(frozen=True)
class Held:
    seq: int
    event: CloudEvent
    waiting_for: str


class PendingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of(self, request_id: str) -> list[Held]:
        rows = await self.session.execute(
            select(pending_event).where(pending_event.c.request_id == request_id).order_by(pending_event.c.seq)
        )
        return [Held(r.seq, CloudEvent.model_validate(r.event), r.waiting_for) for r in rows]

    async def hold_back(self, request_id: str, revision: int | None, event: CloudEvent, waiting_for: str) -> None:
        """Keep the event (once: a redelivery of a held-back event adds nothing)."""
        document: dict[str, Any] = event.model_dump(mode="json", exclude_none=True)
        await self.session.execute(
            insert(pending_event)
            .values(
                request_id=request_id,
                revision=revision,
                event_id=event.id,
                event_type=event.type,
                waiting_for=waiting_for[:300],
                event=document,
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
        )

    async def remove(self, seq: int) -> None:
        await self.session.execute(delete(pending_event).where(pending_event.c.seq == seq))

    async def page(self, *, request_id: str | None, after_seq: int | None, limit: int) -> Sequence[Any]:
        c = pending_event.c
        stmt = select(c.seq, c.request_id, c.revision, c.event_id, c.event_type, c.waiting_for, c.received_at)
        if request_id is not None:
            stmt = stmt.where(c.request_id == request_id)
        if after_seq is not None:
            stmt = stmt.where(c.seq > after_seq)
        return (await self.session.execute(stmt.order_by(c.seq).limit(limit))).all()
