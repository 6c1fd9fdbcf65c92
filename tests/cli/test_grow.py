"""`backoffice bench-data` grows a database by copying the rows of real orders: whole, unique and inert."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from backoffice_cli import grow
from backoffice_common.testing import private_database

SCHEMA = """
CREATE TABLE directory (user_id varchar(50) PRIMARY KEY, name text NOT NULL);
CREATE TABLE purchase (
    id uuid PRIMARY KEY, number varchar(12) NOT NULL UNIQUE, requester_id varchar(50) NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE line (
    id bigserial PRIMARY KEY, purchase_id uuid NOT NULL REFERENCES purchase(id), task_id varchar(36) NOT NULL,
    event_id varchar(200) NOT NULL UNIQUE, amount numeric NOT NULL,
    dedup_key bytea NOT NULL UNIQUE CHECK (octet_length(dedup_key) = 16)
);
CREATE TABLE processed_event (consumer varchar(200), event_id varchar(200), PRIMARY KEY (consumer, event_id));
CREATE TABLE outbox_message (id bigserial PRIMARY KEY, event_id varchar(200) UNIQUE, sent_at timestamptz);
CREATE TABLE approval_timer (id varchar(36) PRIMARY KEY, fire_at timestamptz NOT NULL, fired_at timestamptz);
"""

ORDERS = [
    (f"{n}1111111-1111-4111-8111-111111111111", f"PR-0000{n}", f"e{n}aaaaaa-0000-4000-8000-00000000000{n}")
    for n in range(1, 5)
]


@pytest.fixture
async def conn() -> AsyncIterator[asyncpg.Connection]:
    async with private_database() as url:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await connection.execute(SCHEMA)
            await connection.execute("INSERT INTO directory VALUES ('mike', 'Mike')")
            yield connection
        finally:
            await connection.close()


async def four_real_orders(conn: asyncpg.Connection) -> int:
    since = await grow.start_marker(conn)
    for n, (pid, number, event_id) in enumerate(ORDERS):
        await conn.execute("INSERT INTO purchase VALUES ($1, $2, 'rita', now() - interval '1 minute')", pid, number)
        await conn.execute(
            "INSERT INTO line (purchase_id, task_id, event_id, amount, dedup_key)"
            " VALUES ($1, $2, $3::text, 10, substring(sha256(convert_to($3::text, 'UTF8')) FROM 1 FOR 16))",
            pid,
            f"3333333{n}-3333-4333-8333-333333333333",
            event_id,
        )
        await conn.execute("INSERT INTO processed_event VALUES ('approvals', $1)", event_id)
        await conn.execute("INSERT INTO outbox_message (event_id, sent_at) VALUES ($1, now())", event_id)
        await conn.execute("INSERT INTO approval_timer VALUES ($1, now() + interval '1 hour', NULL)", pid)
    await conn.execute("INSERT INTO outbox_message (event_id, sent_at) VALUES ('not-yet-sent', NULL)")
    await conn.execute("UPDATE directory SET name = 'Mike M.'")
    return since


async def test_copies_are_whole_orders_with_new_keys_older_times_and_nothing_left_to_do(conn):
    since = await four_real_orders(conn)
    kept = await grow.capture(conn, since_xid=since, orders=4)
    assert kept == {"purchase": 4, "line": 4, "processed_event": 4, "outbox_message": 4, "approval_timer": 4}

    await grow.grow(conn, copies=3, batch=2, spread=timedelta(hours=1))

    assert await conn.fetchval("SELECT count(*) FROM purchase") == 16
    assert await conn.fetchval("SELECT count(DISTINCT number) FROM purchase") == 16
    assert await conn.fetchval("SELECT count(*) FROM purchase WHERE number = 'PR-00001~3'") == 1
    assert await conn.fetchval("SELECT count(DISTINCT requester_id) FROM purchase") == 1
    orphans = "SELECT count(*) FROM line l LEFT JOIN purchase p ON p.id = l.purchase_id WHERE p.id IS NULL"
    assert await conn.fetchval("SELECT count(*) FROM line") == 16
    assert await conn.fetchval(orphans) == 0
    assert await conn.fetchval("SELECT count(DISTINCT task_id) FROM line") == 16
    # A digest key (a delivery's dedup key) gets another digest of the same size per copy.
    assert await conn.fetchval("SELECT count(DISTINCT dedup_key) FROM line WHERE octet_length(dedup_key) = 16") == 16
    same_event = (
        "SELECT count(*) FROM line l JOIN processed_event e ON e.event_id = l.event_id"
        " JOIN outbox_message o ON o.event_id = l.event_id"
    )
    assert await conn.fetchval(same_event) == 16
    assert {r[0] for r in await conn.fetch("SELECT DISTINCT consumer FROM processed_event")} == {"approvals"}
    spread = await conn.fetch("SELECT created_at FROM purchase ORDER BY created_at DESC")
    assert spread[0][0] - spread[-1][0] >= timedelta(hours=3)
    assert await conn.fetchval("SELECT count(*) FROM outbox_message WHERE sent_at IS NULL") == 1
    assert await conn.fetchval("SELECT count(*) FROM approval_timer WHERE fired_at IS NULL") == 4
    assert await conn.fetchval("SELECT count(*) FROM directory") == 1


async def test_growing_again_adds_only_the_copies_still_missing(conn):
    since = await four_real_orders(conn)
    await grow.capture(conn, since_xid=since, orders=4)
    await grow.grow(conn, copies=2, batch=5, spread=timedelta(minutes=1))
    assert await grow.copies_done(conn) == (4, 2)
    await grow.grow(conn, copies=4, batch=5, spread=timedelta(minutes=1))
    assert await grow.copies_done(conn) == (4, 4)
    assert await conn.fetchval("SELECT count(*) FROM purchase") == 20
    await grow.grow(conn, copies=4, batch=5, spread=timedelta(minutes=1))
    assert await conn.fetchval("SELECT count(*) FROM purchase") == 20


async def test_the_audit_log_is_copied_with_its_sequence_shifted_per_copy(conn):
    await conn.execute("CREATE TABLE audit_entry (seq bigint PRIMARY KEY, content text NOT NULL, hash text NOT NULL)")
    since = await four_real_orders(conn)
    for seq in range(1, 5):
        await conn.execute("INSERT INTO audit_entry VALUES ($1, 'fact', 'h')", seq)
    await grow.capture(conn, since_xid=since, orders=4)
    await grow.grow(conn, copies=3, batch=2, spread=timedelta(minutes=1))

    seqs = [r["seq"] for r in await conn.fetch("SELECT seq FROM audit_entry ORDER BY seq")]
    assert len(seqs) == 16
    assert seqs[:4] == [1, 2, 3, 4]
    assert seqs[-1] == 3 * grow.SHIFTED[("audit_entry", "seq")] + 4
