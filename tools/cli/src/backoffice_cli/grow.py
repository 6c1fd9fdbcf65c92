# ruff: noqa: S608 - table and column names come from the catalog of the database being grown, never from input
"""Growing the databases to N orders by SQL, shaped like real rows (the data-volume benchmark's first half).

``capture`` runs after a few real orders went through the APIs: every row those orders wrote (rows
whose ``xmin`` is at or after the transaction id noted before them) is copied into a template table
of a schema ``bench`` of the same database, for each table where the orders wrote at least one row
per two orders (the directory, the vendor, the policy do not grow with orders; they are left alone).

``grow`` then inserts copy ``k`` of every template row for each ``k`` still missing, in batches of
copies per statement: an identifier (a primary, unique or foreign key column, and any text that
holds a UUID) becomes a new value derived from the old one and ``k`` with the same function in every
table and database, so a copied order stays whole across the services; serial ids come from their
sequence; timestamps move back by ``k`` times ``--spread`` so the copies cover months, not one minute.
Rows that are pending work are not copied, or copied as done, so no job wakes up for a copy: unsent
outbox rows, pending deliveries, unfired timers, dirty and deferred markers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

SERVICE_DATABASES = ("requests", "approvals", "notifications", "contracts", "insights", "budgets")

SKIPPED_TABLES = {"alembic_version", "dirty_request", "deferred_event"}
ONLY_DONE = {"outbox_message": "sent_at IS NOT NULL", "delivery": "status <> 'pending'"}
MARKED_DONE = {("approval_timer", "fired_at")}
SHIFTED = {("audit_entry", "seq"): 1_000_000_000}
"""Integer keys that are no serial: copy ``k`` adds ``k`` times the stride. The audit log's copies keep
their template's hashes, so a grown database's chain does not verify (a benchmark database only)."""

BENCH_OWN = {"state", "cast"}
"""Tables of the ``bench`` schema that are the benchmark's own, not templates."""

UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
TEXT_TYPES = {"text", "character varying", "character"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    max_length: int | None
    serial: bool
    key: bool
    """The only column of a primary, unique or foreign key: a text there is made unique even when it is no UUID
    (a request's number); in a composite key the UUID next to it makes the row unique (an inbox's consumer name
    stays what it is)."""


def new_id(expr: str, max_length: int | None) -> str:
    """SQL for copy ``k`` of an identifier: a UUID stays a UUID, another text gets ``~k`` (or a hash that fits)."""
    hashed = f"md5({expr} || ':' || k)"
    as_uuid = f"({hashed})::uuid::text"
    suffixed = f"{expr} || '~' || k"
    limit = max_length or 10_000
    return (
        f"CASE WHEN {expr} IS NULL THEN NULL WHEN {expr} ~ '{UUID_PATTERN}' THEN {as_uuid} "
        f"WHEN length({suffixed}) <= {limit} THEN {suffixed} ELSE left({hashed}, {limit}) END"
    )


def copied(table: str, column: Column) -> str:
    q = f'"{column.name}"'
    if (table, column.name) in MARKED_DONE:
        return f"coalesce({q}, now())"
    if (table, column.name) in SHIFTED:
        return f"{q} + k * {SHIFTED[(table, column.name)]}::bigint"
    if column.type == "uuid":
        return f"(md5({q}::text || ':' || k))::uuid"
    if column.type == "bytea" and column.key:  # a digest key (a delivery's dedup key): another digest, same size
        return f"substring(sha256({q} || convert_to(':' || k, 'UTF8')) FROM 1 FOR octet_length({q}))"
    if column.type == "timestamp with time zone":
        return f"{q} - k * $1::interval"
    if column.type in TEXT_TYPES:
        if column.key:
            return new_id(q, column.max_length)
        return f"CASE WHEN {q} ~ '{UUID_PATTERN}' THEN {new_id(q, column.max_length)} ELSE {q} END"
    return q


async def columns_of(conn: asyncpg.Connection, table: str) -> list[Column]:
    keys = {
        r["attname"]
        for r in await conn.fetch(
            "SELECT a.attname FROM pg_constraint c JOIN pg_attribute a"
            " ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
            " WHERE c.conrelid = $1::regclass AND c.contype IN ('p', 'u', 'f') AND cardinality(c.conkey) = 1",
            f'public."{table}"',
        )
    }
    rows = await conn.fetch(
        "SELECT column_name, data_type, character_maximum_length, column_default, is_identity, is_generated"
        " FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        table,
    )
    return [
        Column(
            name=r["column_name"],
            type=r["data_type"],
            max_length=r["character_maximum_length"],
            serial=r["is_identity"] == "YES" or str(r["column_default"] or "").startswith("nextval("),
            key=r["column_name"] in keys,
        )
        for r in rows
        if r["is_generated"] != "ALWAYS"
    ]


async def start_marker(conn: asyncpg.Connection) -> int:
    """The transaction id before the real orders: every row they write has an ``xmin`` at or after it."""
    return int(await conn.fetchval("SELECT (txid_current() % 4294967296)::bigint"))


async def capture(conn: asyncpg.Connection, *, since_xid: int, orders: int) -> dict[str, int]:
    """Copy the rows written since ``since_xid`` into ``bench.<table>``; the number of rows per table kept."""
    await conn.execute("DROP SCHEMA IF EXISTS bench CASCADE; CREATE SCHEMA bench")
    await conn.execute("CREATE TABLE bench.state (orders_per_copy int NOT NULL, copies int NOT NULL)")
    await conn.execute("INSERT INTO bench.state VALUES ($1, 0)", orders)
    kept: dict[str, int] = {}
    tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    for (table,) in tables:
        if table in SKIPPED_TABLES:
            continue
        where = f"xmin::text::bigint >= {since_xid}"
        if table in ONLY_DONE:
            where += f" AND {ONLY_DONE[table]}"
        n = await conn.fetchval(f'SELECT count(*) FROM public."{table}" WHERE {where}')
        if n * 2 < orders:
            continue
        await conn.execute(f'CREATE TABLE bench."{table}" AS SELECT * FROM public."{table}" WHERE {where}')
        kept[table] = n
    return kept


async def copies_done(conn: asyncpg.Connection) -> tuple[int, int]:
    """(orders per copy, copies made so far), or (0, 0) before ``capture``."""
    exists = await conn.fetchval("SELECT to_regclass('bench.state') IS NOT NULL")
    if not exists:
        return 0, 0
    row = await conn.fetchrow("SELECT orders_per_copy, copies FROM bench.state")
    assert row is not None
    return int(row["orders_per_copy"]), int(row["copies"])


async def grow(conn: asyncpg.Connection, *, copies: int, batch: int, spread: timedelta) -> None:
    """Insert copies ``done+1 .. copies`` of every template row, ``batch`` copies per statement and table."""
    _, done = await copies_done(conn)
    tables = [r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'bench'")]
    tables = [t for t in tables if t not in BENCH_OWN]
    plans = {t: [c for c in await columns_of(conn, t) if not c.serial] for t in tables}
    await conn.execute("SET session_replication_role = replica")  # foreign keys are whole by construction
    for first in range(done + 1, copies + 1, batch):
        last = min(copies, first + batch - 1)
        async with conn.transaction():
            for table, cols in plans.items():
                names = ", ".join(f'"{c.name}"' for c in cols)
                values = ", ".join(copied(table, c) for c in cols)
                args = [spread] if "$1" in values else []
                await conn.execute(
                    f'INSERT INTO public."{table}" ({names}) SELECT {values} FROM bench."{table}"'
                    f" CROSS JOIN generate_series({first}, {last}) AS k",
                    *args,
                )
            await conn.execute("UPDATE bench.state SET copies = $1", last)
    await conn.execute("SET session_replication_role = DEFAULT")
    for table in tables:  # as autovacuum would have by then: statistics, visibility map, GIN pending lists
        await conn.execute(f'VACUUM (ANALYZE) public."{table}"')


def pretty(tables: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{t} {n}" for t, n in tables)
