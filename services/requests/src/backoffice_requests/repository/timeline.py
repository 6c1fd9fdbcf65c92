"""Timeline rows: the request's own events and every consumed event, in the order they happened.

The order is total and stable: by ``occurred_at`` (the event's ``time``, microseconds kept), then by the
entry's id (the order of recording) for entries of the same instant (``timeline_key``). Recording order
alone was not when they happened: the topics are not ordered among themselves, so an event can be consumed
after one that happened later."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.db import driver_connection
from backoffice_common.events import CloudEvent
from backoffice_common.strings import strip_nul
from backoffice_requests.models import timeline_entry

NOTE_LENGTH = 2000

# The timeline's order (``repository.reads`` orders its entries the same way; ``timeline_key`` in Python).
_ENTRIES_SQL = "SELECT {} FROM timeline_entry WHERE request_id = $1::uuid ORDER BY occurred_at, id".format(  # noqa: S608
    ", ".join(f"{c.name}::text AS {c.name}" if c.name == "request_id" else c.name for c in timeline_entry.c)
)
_ADD_SQL = (
    "INSERT INTO timeline_entry (request_id, event_id, event_type, source, actor, outcome, note, status_after,"
    " data, occurred_at) VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6, $7, $8, $9::jsonb, $10)"
    " ON CONFLICT (event_id) DO NOTHING"
)


_UPDATE_SQL = (
    "UPDATE timeline_entry SET outcome = $2, note = $3, status_after = COALESCE($4, status_after) WHERE event_id = $1"
)


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
        carry NUL characters, which PostgreSQL cannot store: they are removed. Raw asyncpg on the
        session's connection and transaction (every recorded and consumed event appends one)."""
        conn = await driver_connection(self.session)
        await conn.execute(
            _ADD_SQL,
            request_id,
            event.id,
            event.type,
            event.source,
            json.dumps(strip_nul(actor)),
            outcome,
            strip_nul(note)[:NOTE_LENGTH],
            status_after,
            json.dumps(strip_nul(event.data)),
            event.time,
        )

    async def update(self, *, event_id: str, outcome: str, note: str, status_after: str | None = None) -> None:
        """A deferred fact's entry keeps its place in the timeline and says what finally became of it (raw
        asyncpg; ``status_after`` None keeps the entry's)."""
        conn = await driver_connection(self.session)
        await conn.execute(_UPDATE_SQL, event_id, outcome, strip_nul(note)[:NOTE_LENGTH], status_after)

    async def entries(self, *, request_id: str) -> list[dict[str, Any]]:
        """The request's entries in the timeline's order, as ``select(timeline_entry)`` maps them (raw asyncpg)."""
        conn = await driver_connection(self.session)
        return [dict(r.items()) for r in await conn.fetch(_ENTRIES_SQL, request_id)]


def timeline_key(entry: dict[str, Any]) -> tuple[datetime, int]:
    """An entry's place in the timeline (``occurred_at``, then ``id``), for entries read from the table (datetimes) or
    from an archived segment (ISO text): to merge an archived timeline with the entries recorded after it."""
    when = entry["occurred_at"]
    return (when if isinstance(when, datetime) else datetime.fromisoformat(str(when))), int(entry["id"])
