"""Timeline rows: the request's own events and every consumed event, in the order they were recorded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.events import CloudEvent
from backoffice_common.strings import strip_nul
from backoffice_requests.models import timeline_entry

NOTE_LENGTH = 2000


class TimelineRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        request_id: str,
        event: CloudEvent,
        actor: dict[str, Any],
        outcome: str,
        note: str,
        status_after: str,
    ) -> None:
        """One entry per event id (a redelivered event adds nothing). Another service's payload may
        carry NUL characters, which PostgreSQL cannot store: they are removed."""
        await self.session.execute(
            pg_insert(timeline_entry)
            .values(
                request_id=request_id,
                event_id=event.id,
                event_type=event.type,
                source=event.source,
                actor=strip_nul(actor),
                outcome=outcome,
                note=strip_nul(note)[:NOTE_LENGTH],
                status_after=status_after,
                data=strip_nul(event.data),
                occurred_at=event.time,
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
        )

    async def update(self, *, event_id: str, outcome: str, note: str, status_after: str | None = None) -> None:
        """A deferred fact's entry keeps its place in the timeline and says what finally became of it."""
        values: dict[str, Any] = {"outcome": outcome, "note": strip_nul(note)[:NOTE_LENGTH]}
        if status_after is not None:
            values["status_after"] = status_after
        await self.session.execute(update(timeline_entry).where(timeline_entry.c.event_id == event_id).values(**values))

    async def entries(self, *, request_id: str) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(timeline_entry).where(timeline_entry.c.request_id == request_id).order_by(timeline_entry.c.id)
        )
        return [dict(r) for r in rows.mappings()]
