"""Timeline rows: the request's own events and every consumed event, in the order they happened.

The order is total and stable: by ``occurred_at`` (the event's ``time``, microseconds kept), then by the
entry's id (the order of recording) for entries of the same instant (``timeline_key``). Recording order
alone was not when they happened: the topics are not ordered among themselves, so an event can be consumed
after one that happened later."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.db import driver_connection
from backoffice_common.events import CloudEvent
from backoffice_common.strings import strip_nul
from backoffice_requests.models import timeline_entry
from backoffice_requests.repository.requests import update_sql

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


_ADD_READING_DEFERRED_SQL = (
    f"WITH e AS ({_ADD_SQL}) SELECT envelope FROM deferred_event WHERE request_id = $1::uuid ORDER BY occurred_at"  # noqa: S608
)
"""An applied fact's entry, and the request's deferred facts (``DeferredEventRepository.of_request``'s statement) in
the same statement: one round trip instead of two."""
_ADD_SAVING_READING_DEFERRED_SQL = (
    f"WITH e AS ({_ADD_SQL}), u AS ({update_sql(11)})"  # noqa: S608
    " SELECT envelope FROM deferred_event WHERE request_id = $1::uuid ORDER BY occurred_at"
)
"""The same, and the request's row saved (``RequestRepository.save``'s ``UPDATE``, its values from ``$11`` on)."""

_RECORD_UNDER_LOCK_SQL = (
    "WITH s AS (SELECT status, created_at FROM purchase_request WHERE id = $1::uuid FOR UPDATE),"
    " a AS (INSERT INTO approver_assignment (request_id, user_id, task_id, request_created_at)"
    " SELECT $1::uuid, u.user_id, $10::text, s.created_at FROM s, unnest($9::text[]) WITH ORDINALITY AS u(user_id, n)"
    " ORDER BY u.n ON CONFLICT (request_id, user_id) DO NOTHING),"
    " b AS (INSERT INTO buyer_signer (request_id, user_id)"
    " SELECT $1::uuid, u.user_id FROM s, unnest($11::text[]) WITH ORDINALITY AS u(user_id, n)"
    " ORDER BY u.n ON CONFLICT (request_id, user_id) DO NOTHING),"
    " e AS (INSERT INTO timeline_entry (request_id, event_id, event_type, source, actor, outcome, note, status_after,"
    " data, occurred_at) SELECT $1::uuid, $2::text, $3::text, $4::text, $5::jsonb, 'recorded', $6::text, s.status,"
    " $7::jsonb, $8::timestamptz FROM s ON CONFLICT (event_id) DO NOTHING)"
    " SELECT status FROM s"
)
"""A consumed event that only writes the timeline, in ONE statement: the request's row locked and its status read
(``RequestRepository.status_for_update``), the approvers and buyer's signers it names remembered
(``ApproverRepository.remember``, ``BuyerSignerRepository.remember``, the request's ``created_at`` from the locked
row instead of a subquery), and its entry (``add``, outcome ``recorded``, ``status_after`` the locked status)."""


def _entry_values(
    request_id: str, event: CloudEvent, actor: dict[str, Any], outcome: str, note: str, status_after: str
) -> tuple[Any, ...]:
    """``_ADD_SQL``'s values ``$1``-``$10``, NUL characters removed and the note cut to ``NOTE_LENGTH``."""
    return (
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
        await conn.execute(_ADD_SQL, *_entry_values(request_id, event, actor, outcome, note, status_after))

    async def add_reading_deferred(
        self,
        *,
        request_id: str,
        event: CloudEvent,
        actor: dict[str, Any],
        outcome: str,
        note: str,
        status_after: str,
        saving: tuple[Any, ...] | None = None,
    ) -> list[CloudEvent]:
        """``add``, and the request's deferred facts in the order they happened (what ``DeferredEventRepository.
        of_request`` then read), in one statement: for a fact that was applied under the request's row lock. The
        statement's snapshot is taken with the lock held, and every fact is deferred under that lock
        (``service.facts.record_report``), so it sees every deferred fact the separate read after it would.
        ``saving``: the request's row as ``RequestRepository.plain_update`` gives it, written by the same statement
        (its ``UPDATE`` does not change what the read of ``deferred_event`` sees)."""
        conn = await driver_connection(self.session)
        rows = await conn.fetch(
            _ADD_READING_DEFERRED_SQL if saving is None else _ADD_SAVING_READING_DEFERRED_SQL,
            *_entry_values(request_id, event, actor, outcome, note, status_after),
            *(saving or ()),
        )
        return [CloudEvent.model_validate(row[0]) for row in rows]

    async def record_under_lock(
        self,
        *,
        request_id: str,
        event: CloudEvent,
        actor: dict[str, Any],
        note: str,
        approvers: Sequence[str] = (),
        task_id: str = "",
        buyer_signers: Sequence[str] = (),
    ) -> str | None:
        """A consumed event that only writes the timeline, in one statement (``_RECORD_UNDER_LOCK_SQL``): the
        request's row locked, the ``approvers`` (with ``task_id``) and ``buyer_signers`` remembered and the entry
        written (outcome ``recorded``, ``status_after`` the status under the lock). Returns that status, None for
        an unknown request (then nothing is written). The rows are those of ``status_for_update``, then
        ``remember`` for each person, then ``add``, the values cleaned the same way."""
        conn = await driver_connection(self.session)
        status: str | None = await conn.fetchval(
            _RECORD_UNDER_LOCK_SQL,
            request_id,
            event.id,
            event.type,
            event.source,
            json.dumps(strip_nul(actor)),
            strip_nul(note)[:NOTE_LENGTH],
            json.dumps(strip_nul(event.data)),
            event.time,
            _people(approvers),
            strip_nul(task_id),
            _people(buyer_signers),
        )
        return status

    async def update(self, *, event_id: str, outcome: str, note: str, status_after: str | None = None) -> None:
        """A deferred fact's entry keeps its place in the timeline and says what finally became of it (raw
        asyncpg; ``status_after`` None keeps the entry's)."""
        conn = await driver_connection(self.session)
        await conn.execute(_UPDATE_SQL, event_id, outcome, strip_nul(note)[:NOTE_LENGTH], status_after)

    async def entries(self, *, request_id: str) -> list[dict[str, Any]]:
        """The request's entries in the timeline's order, as ``select(timeline_entry)`` maps them (raw asyncpg)."""
        conn = await driver_connection(self.session)
        return [dict(r.items()) for r in await conn.fetch(_ENTRIES_SQL, request_id)]


def _people(user_ids: Sequence[str]) -> list[str]:
    """The ids as ``remember`` stores them (NUL removed, 200 characters), each once, in order (the same person twice
    in one statement's ``INSERT``: the first wins, as the second ``remember`` did nothing)."""
    return list(dict.fromkeys(strip_nul(user_id)[:200] for user_id in user_ids))


def timeline_key(entry: dict[str, Any]) -> tuple[datetime, int]:
    """An entry's place in the timeline (``occurred_at``, then ``id``), for entries read from the table (datetimes) or
    from an archived segment (ISO text): to merge an archived timeline with the entries recorded after it."""
    when = entry["occurred_at"]
    return (when if isinstance(when, datetime) else datetime.fromisoformat(str(when))), int(entry["id"])
