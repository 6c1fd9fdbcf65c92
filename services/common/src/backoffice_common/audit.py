"""An append-only, hash-chained audit log per service: the facts an auditor verifies.

Every event a unit of work publishes is a fact that changed something (a request, a chain, a
vendor, a policy, a template, a contract); the unit of work appends each one to ``audit_entry`` in
the same transaction as the outbox row, so the log holds exactly what happened and nothing that
was rolled back. Outbox rows are deleted after the relay's retention; audit rows never are.

Each row carries ``prev_hash``, the hash of the row before it, and its own ``hash`` =
SHA-256(``seq`` newline ``prev_hash`` newline ``content``), where ``content`` is the entry as
canonical JSON (sorted keys, no spaces), stored as text so the bytes hashed are the bytes kept.
Appending takes the table in EXCLUSIVE mode until commit (readers are not blocked), so the chain
has one order: ``audit_entry_append(...)``, a function of the database the unit of work's commit statement
calls, takes the lock, reads the last entry and appends the entries hashed after it (no round trip of its
own); ``audit_entry_head()`` takes the lock and reads the last entry in one round trip (the archive).
A trigger refuses UPDATE, DELETE and TRUNCATE of ``audit_entry``;
only someone who can switch triggers off (the database superuser) can change a row, and
``verify_chain`` then names the first row whose hash or link does not hold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import BigInteger, Column, DateTime, Index, MetaData, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.db import driver_connection, new_metadata
from backoffice_common.events import CloudEvent

GENESIS = "0" * 64
TABLE = "audit_entry"
HEAD_FUNCTION = f"{TABLE}_head"
APPEND_FUNCTION = f"{TABLE}_append"


def audit_table(metadata: MetaData) -> Table:
    return Table(
        TABLE,
        metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
        Column("request_id", String(200), nullable=True),
        Column("content", Text, nullable=False),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
        Index("ix_audit_entry_request_id", "request_id"),
    )


_APPEND_ONLY = (
    f"""CREATE FUNCTION {TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{TABLE} is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$""",
    f"""CREATE TRIGGER {TABLE}_no_update_or_delete BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_append_only()""",
    f"""CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_append_only()""",
)


def create_audit_table(bind: Any) -> None:
    """For a service's migration: the table and the triggers that keep it append-only."""
    audit_table(new_metadata()).create(bind)
    for statement in _APPEND_ONLY:
        bind.exec_driver_sql(statement)


def drop_audit_table(bind: Any) -> None:
    bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {APPEND_FUNCTION}(timestamptz, text[], text[])")
    bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {HEAD_FUNCTION}()")
    bind.exec_driver_sql(f"DROP TABLE {TABLE}")
    bind.exec_driver_sql(f"DROP FUNCTION {TABLE}_append_only()")


# constants only, no input
_HEAD = f"""CREATE FUNCTION {HEAD_FUNCTION}(OUT seq bigint, OUT hash text) VOLATILE LANGUAGE plpgsql AS $$
    BEGIN
        LOCK TABLE {TABLE} IN EXCLUSIVE MODE;
        SELECT e.seq, e.hash INTO seq, hash FROM {TABLE} e ORDER BY e.seq DESC LIMIT 1;
        IF NOT FOUND THEN
            seq := 0;
            hash := '{GENESIS}';
        END IF;
    END $$"""  # noqa: S608


# constants only, no input. The hash is ``hash_of``'s: SHA-256 of seq, newline, prev_hash, newline, content
# as UTF-8 (``convert_to``), in lowercase hex; the content is the text as sent, kept as it was hashed.
_APPEND = f"""CREATE OR REPLACE FUNCTION {APPEND_FUNCTION}(
        p_recorded_at timestamptz, p_requests text[], p_contents text[]
    ) RETURNS bigint VOLATILE LANGUAGE plpgsql AS $$
    DECLARE
        last_seq bigint;
        last_hash text;
        prevs text[] := '{{}}';
        hashes text[] := '{{}}';
        total integer := coalesce(array_length(p_contents, 1), 0);
    BEGIN
        LOCK TABLE {TABLE} IN EXCLUSIVE MODE;
        SELECT e.seq, e.hash INTO last_seq, last_hash FROM {TABLE} e ORDER BY e.seq DESC LIMIT 1;
        IF NOT FOUND THEN
            last_seq := 0;
            last_hash := '{GENESIS}';
        END IF;
        FOR i IN 1 .. total LOOP
            prevs[i] := last_hash;
            last_hash := encode(sha256(convert_to(
                (last_seq + i)::text || E'\\n' || last_hash || E'\\n' || p_contents[i], 'UTF8')), 'hex');
            hashes[i] := last_hash;
        END LOOP;
        INSERT INTO {TABLE} (seq, recorded_at, request_id, content, prev_hash, hash)
            SELECT last_seq + a.n, p_recorded_at, a.r, a.c, prevs[a.n::integer], hashes[a.n::integer]
            FROM unnest(p_requests, p_contents) WITH ORDINALITY AS a(r, c, n);
        RETURN last_seq + total;
    END $$"""  # noqa: S608


def create_audit_head(bind: Any) -> None:
    """For a service's migration, after ``create_audit_table``: ``audit_entry_head()``, which locks the chain
    and reads its last entry (``lock_head``), and ``audit_entry_append(...)`` (``create_audit_append``)."""
    bind.exec_driver_sql(_HEAD)
    create_audit_append(bind)


def drop_audit_head(bind: Any) -> None:
    bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {APPEND_FUNCTION}(timestamptz, text[], text[])")
    bind.exec_driver_sql(f"DROP FUNCTION {HEAD_FUNCTION}()")


def create_audit_append(bind: Any) -> None:
    """For a service's migration (and ``create_audit_head``): ``audit_entry_append(recorded_at, requests,
    contents)``, which locks the chain, reads its head and appends the entries hashed after it, all in the
    database: the unit of work calls it in its commit statement (``append_call``), no round trip of its own.
    ``CREATE OR REPLACE``: a database whose head migration already made it keeps one."""
    bind.exec_driver_sql(_APPEND)


def drop_audit_append(bind: Any) -> None:
    bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {APPEND_FUNCTION}(timestamptz, text[], text[])")


def request_of(event: CloudEvent) -> str | None:
    """The purchase request a fact is about, where the event names one."""
    data = event.data
    direct = data.get("request_id")
    if isinstance(direct, str):
        return direct
    nested = data.get("request")
    if isinstance(nested, Mapping):
        for key in ("request_id", "id"):
            if isinstance(nested.get(key), str):
                return str(nested[key])
    if event.type.startswith("purchase_request.") and event.subject:
        return event.subject
    return None


def content_of(event: CloudEvent, *, service: str) -> str:
    entry = {
        "service": service,
        "event_id": event.id,
        "type": event.type,
        "source": event.source,
        "subject": event.subject,
        "time": event.time.isoformat() if event.time else None,
        "request_id": request_of(event),
        "data": event.data,
    }
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def hash_of(seq: int, prev_hash: str, content: str) -> str:
    return hashlib.sha256(f"{seq}\n{prev_hash}\n{content}".encode()).hexdigest()


async def append(session: AsyncSession, table: Table, events: Sequence[CloudEvent], *, service: str) -> None:
    """Append ``events`` to the chain inside the caller's transaction."""
    if not events:
        return
    conn = await driver_connection(session)
    sql, args = await insert_statement(conn, table.name, events, service=service)
    await conn.execute(sql, *args)


HEAD_SQL = f"SELECT seq, hash FROM {HEAD_FUNCTION}()"  # noqa: S608
"""The chain's head, locked until commit, in one round trip.

The function takes the table in EXCLUSIVE mode (as the code before it did with a statement of its own:
appenders of both kinds exclude each other, during a rolling update too), then reads the last entry.
One statement could not do both: a statement's snapshot is taken before its lock is granted, so in READ
COMMITTED it would not see an entry committed by the appender it waited for. A VOLATILE function's
statements each take a snapshot of their own when they start (PostgreSQL, "Function Volatility
Categories"), so the read runs on one taken after the lock."""


async def lock_head(conn: asyncpg.Connection) -> tuple[int, str]:
    """Lock the chain until the end of the caller's transaction; its head (seq, hash), (0, GENESIS) empty."""
    row = await conn.fetchrow(HEAD_SQL)
    assert row is not None  # the function always returns its row
    return int(row["seq"]), str(row["hash"])


async def insert_statement(
    conn: asyncpg.Connection, table: str, events: Sequence[CloudEvent], *, service: str, first_param: int = 1
) -> tuple[str, list[Any]]:
    """Lock the chain and read its head (inside the caller's transaction, one round trip: ``lock_head``), and
    return the INSERT of ``events`` after it with its arguments (numbered from ``first_param``), for the
    caller to run, alone or as a part of a larger statement (the unit of work adds its outbox rows to it)."""
    if table != TABLE:
        raise ValueError(f"the audit chain's head function is for {TABLE}, not {table}")
    seq, prev = await lock_head(conn)
    first_seq = seq + 1
    contents: list[str] = []
    requests: list[str | None] = []
    prevs: list[str] = []
    hashes: list[str] = []
    for event in events:
        seq += 1
        content = content_of(event, service=service)
        digest = hash_of(seq, prev, content)
        contents.append(content)
        requests.append(request_of(event))
        prevs.append(prev)
        hashes.append(digest)
        prev = digest
    p = first_param
    sql = (
        f"INSERT INTO {table} (seq, recorded_at, request_id, content, prev_hash, hash)"  # noqa: S608
        f" SELECT ${p} + n - 1, ${p + 1}::timestamptz, r, c, ph, h"
        f" FROM unnest(${p + 2}::text[], ${p + 3}::text[], ${p + 4}::text[], ${p + 5}::text[])"
        " WITH ORDINALITY AS a(r, c, ph, h, n)"
    )
    return sql, [first_seq, datetime.now(UTC), requests, contents, prevs, hashes]


def append_call(events: Sequence[CloudEvent], *, service: str, first_param: int = 1) -> tuple[str, list[Any]]:
    """``audit_entry_append(...)`` for ``events`` with its arguments (numbered from ``first_param``): an
    expression for the caller's statement (the unit of work's commit statement). The database locks the
    chain (EXCLUSIVE, until commit: the same lock as ``lock_head``, so appenders of both kinds exclude each
    other), reads the head in a snapshot taken after the lock (a VOLATILE function's statements each take
    their own) and inserts the entries hashed as ``hash_of`` does. Same rows as ``insert_statement``, one
    round trip less, and the lock held one round trip shorter."""
    p = first_param
    sql = f"{APPEND_FUNCTION}(${p}::timestamptz, ${p + 1}::text[], ${p + 2}::text[])"
    return sql, [
        datetime.now(UTC),
        [request_of(event) for event in events],
        [content_of(event, service=service) for event in events],
    ]


@dataclass(frozen=True)
class BrokenLink:
    seq: int
    reason: str


def verify_chain(rows: Iterable[Mapping[str, Any]], *, after: tuple[int, str] = (0, GENESIS)) -> BrokenLink | None:
    """The first row (in ``seq`` order) whose number, link or hash does not hold; None if all do.

    ``after`` is the (seq, hash) the rows continue from, so a long chain is verified page by page."""
    expected_seq, prev = after
    for row in rows:
        expected_seq += 1
        seq = int(row["seq"])
        if seq != expected_seq:
            return BrokenLink(expected_seq, f"row {expected_seq} is missing (the next row is {seq})")
        if row["prev_hash"] != prev:
            return BrokenLink(seq, "prev_hash is not the hash of the row before")
        if hash_of(seq, row["prev_hash"], row["content"]) != row["hash"]:
            return BrokenLink(seq, "the content does not match the row's hash")
        if "request_id" in row and json.loads(row["content"]).get("request_id") != row["request_id"]:
            return BrokenLink(seq, "request_id differs from the hashed content")
        prev = row["hash"]
    return None


__all__ = [
    "APPEND_FUNCTION",
    "GENESIS",
    "HEAD_FUNCTION",
    "HEAD_SQL",
    "BrokenLink",
    "append",
    "append_call",
    "audit_table",
    "content_of",
    "create_audit_append",
    "create_audit_head",
    "create_audit_table",
    "drop_audit_append",
    "drop_audit_head",
    "drop_audit_table",
    "hash_of",
    "insert_statement",
    "lock_head",
    "request_of",
    "verify_chain",
]


def csv_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula: text starting with ``= + - @``, a tab or a carriage
    return gets a leading ``'`` (the CSV exports of ``GET /admin/audit`` and
    ``backoffice audit export``: subjects, request ids and data come from events, some typed by people)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
