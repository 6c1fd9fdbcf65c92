"""Retention against the real PostgreSQL (and Kafka for the replay): what is past its window goes, in
batches through an index; what is inside stays; a replay inside the inbox window is still recognised."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from common_testkit import Harness, event, eventually, make_consumer, make_relay, recording_handler, running

from backoffice_common.messaging import RETENTION_INDEXES
from backoffice_common.retention import Retention, RetentionJob, messaging_retention, prune
from backoffice_common.testing import publish_events

DAY = timedelta(days=1)
RULES = messaging_retention(outbox_keep=timedelta(hours=72), inbox_keep=30 * DAY)


async def _conn(h: Harness) -> asyncpg.Connection:
    conn = await asyncpg.connect(h.dsn)
    for statement in RETENTION_INDEXES:
        await conn.execute(statement)
    return conn


async def _outbox_row(conn: asyncpg.Connection, name: str, *, sent_ago: timedelta | None) -> None:
    await conn.execute(
        "INSERT INTO outbox_message (topic, key, event_id, event_type, value, sent_at)"
        " VALUES ('t', 'k', $1, 'x.y', '\\x00', now() - $2::interval)",
        name,
        sent_ago,
    )


async def _inbox_row(conn: asyncpg.Connection, event_id: str, *, ago: timedelta) -> None:
    await conn.execute(
        "INSERT INTO processed_event (consumer, event_id, event_type, processed_at)"
        " VALUES ('c', $1, 'x.y', now() - $2::interval)",
        event_id,
        ago,
    )


async def test_rows_past_their_window_disappear_and_rows_inside_stay(harness: Harness) -> None:
    conn = await _conn(harness)
    try:
        await _outbox_row(conn, "sent-long-ago", sent_ago=4 * DAY)
        await _outbox_row(conn, "sent-yesterday", sent_ago=DAY)
        await _outbox_row(conn, "never-sent", sent_ago=None)
        await conn.execute("UPDATE outbox_message SET created_at = now() - interval '40 days'")
        await _inbox_row(conn, "handled-31-days-ago", ago=31 * DAY)
        await _inbox_row(conn, "handled-29-days-ago", ago=29 * DAY)

        pruned = {rule.name: await prune(conn, rule) for rule in RULES}

        assert pruned == {"outbox_sent": 1, "inbox": 1}
        outbox = {r["event_id"] for r in await conn.fetch("SELECT event_id FROM outbox_message")}
        assert outbox == {"sent-yesterday", "never-sent"}, "an unsent row is never pruned, however old"
        inbox = {r["event_id"] for r in await conn.fetch("SELECT event_id FROM processed_event")}
        assert inbox == {"handled-29-days-ago"}
    finally:
        await conn.close()


async def test_a_large_backlog_goes_in_batches_until_nothing_is_left(harness: Harness) -> None:
    conn = await _conn(harness)
    try:
        await conn.execute(
            "INSERT INTO processed_event (consumer, event_id, event_type, processed_at)"
            " SELECT 'c', 'old-' || i, 'x.y', now() - interval '60 days' FROM generate_series(1, 2500) i"
        )
        await _inbox_row(conn, "recent", ago=DAY)

        assert await prune(conn, RULES[1], batch_size=1000) == 2500
        assert await conn.fetchval("SELECT count(*) FROM processed_event") == 1
    finally:
        await conn.close()


async def test_each_batch_finds_its_rows_through_the_index_not_a_table_scan(harness: Harness) -> None:
    conn = await _conn(harness)
    try:
        await conn.execute("SET enable_seqscan = off")
        indexes = {"outbox_sent": "ix_outbox_message_sent_at", "inbox": "ix_processed_event_processed_at"}
        for rule in RULES:
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {rule.select_sql()}", 3600.0, 100))
            assert indexes[rule.name] in plan, plan
            assert "Index Cond" in plan, plan
    finally:
        await conn.close()


async def test_a_clearing_rule_empties_the_columns_of_old_matching_rows_only(harness: Harness) -> None:
    conn = await _conn(harness)
    try:
        await conn.execute(
            "CREATE TABLE mail (id int PRIMARY KEY, status text, body text, created_at timestamptz NOT NULL)"
        )
        await conn.execute(
            "INSERT INTO mail VALUES (1, 'sent', 'old', now() - interval '40 days'),"
            " (2, 'failed', 'old but may be retried', now() - interval '40 days'),"
            " (3, 'sent', 'recent', now() - interval '1 day')"
        )
        rule = Retention("bodies", "mail", "created_at", 30 * DAY, condition="status = 'sent'", clear=("body",))

        assert await prune(conn, rule, batch_size=1) == 1
        assert await prune(conn, rule) == 0, "a cleared row is not counted again"
        rows = {r["id"]: r["body"] for r in await conn.fetch("SELECT id, body FROM mail")}
        assert rows == {1: None, 2: "old but may be retried", 3: "recent"}
    finally:
        await conn.close()


async def test_one_instance_prunes_while_the_others_skip_the_round(harness: Harness) -> None:
    conn = await _conn(harness)
    try:
        await _inbox_row(conn, "old", ago=40 * DAY)
        job = RetentionJob(dsn=harness.dsn, service=harness.service, rules=RULES)
        await conn.fetchval(f"SELECT pg_advisory_lock({job._lock_key})")

        assert await job.run_once() is None
        assert await conn.fetchval("SELECT count(*) FROM processed_event") == 1

        await conn.fetchval(f"SELECT pg_advisory_unlock({job._lock_key})")
        assert await job.run_once() == {"outbox_sent": 0, "inbox": 1}
    finally:
        await conn.close()


async def test_an_event_replayed_inside_the_window_is_still_recognised(harness: Harness) -> None:
    h = harness
    replayed, forgotten = event(1, "k"), event(2, "k")
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)})
    async with running(consumer.run, make_relay(h).run):
        await publish_events(h.bootstrap, h.topic, [replayed, forgotten])
        await eventually(lambda: _effects_are(h, 2))

        conn = await _conn(h)
        try:
            await conn.execute(
                "UPDATE processed_event SET processed_at = now() - interval '29 days' WHERE event_id = $1", replayed.id
            )
            await conn.execute(
                "UPDATE processed_event SET processed_at = now() - interval '31 days' WHERE event_id = $1",
                forgotten.id,
            )
            job = RetentionJob(dsn=h.dsn, service=h.service, rules=RULES)
            assert await job.run_once() == {"outbox_sent": 0, "inbox": 1}
        finally:
            await conn.close()

        await publish_events(h.bootstrap, h.topic, [replayed, forgotten])
        # The forgotten one is applied again: the reason the window must outlast any replay (docs/retention.md).
        await eventually(lambda: _effects_are(h, 3))
        effects = [event_id for event_id, _, _ in await h.effects()]
    assert effects.count(replayed.id) == 1
    assert effects.count(forgotten.id) == 2


async def _effects_are(h: Harness, n: int) -> bool:
    return len(await h.effects()) == n
