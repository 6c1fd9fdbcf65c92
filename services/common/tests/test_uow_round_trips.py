"""A unit of work's round trips (eighth round of #15): the inbox claim is sent with BEGIN, the commit
statement with COMMIT, each as one message whose values are constants (``db.inline``). What they write
is what the parameterised statements wrote, whatever the values hold; a value that cannot be a constant
takes the old path. Real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest
from common_testkit import Harness, event
from sqlalchemy import text

from backoffice_common.db import constant, driver_connection, inline, text_literal
from backoffice_common.events import CloudEvent, new_event

NASTY = [
    "",
    "plain",
    "it's",
    "''",
    "back\\slash",
    "\\'",
    "ends with \\",
    "E'x'",
    "$1 $$ $2::text[]",
    "-- not a comment",
    "/* nor this */",
    "; COMMIT; DROP TABLE effect; --",
    "ünïcödé ✓ 日本 \U0001f600",
    "tab\tnew\nline\r",
    "\\x41",
    "\\\\n",
]


def _sent(conn: asyncpg.Connection) -> tuple[list[str], object]:
    sent: list[str] = []

    def log(query: asyncpg.connection.LoggedQuery) -> None:
        sent.append(query.query)

    conn.add_query_logger(log)
    return sent, log


@pytest.mark.parametrize("standard_conforming_strings", ["on", "off"])
async def test_constants_read_back_as_the_values_whatever_the_server_reads_escapes_as(
    harness: Harness, standard_conforming_strings: str
) -> None:
    conn = await asyncpg.connect(harness.dsn)
    try:
        await conn.execute(f"SET standard_conforming_strings = {standard_conforming_strings}")
        for value in NASTY:
            assert await conn.fetchval(f"SELECT {text_literal(value)}::text") == value
            assert await conn.fetchval(inline("SELECT $1::text", [value])) == value
        texts = [*NASTY, None]
        assert await conn.fetchval(inline("SELECT $1::text[]", [texts])) == texts
        assert await conn.fetchval(inline("SELECT $1::text[]", [[]])) == []
        blobs = [b"", b"\x00\x01\\'\xff", json.dumps({"q": "it's \\ \u00e9"}).encode()]
        assert await conn.fetchval(inline("SELECT $1::bytea[]", [blobs])) == blobs
        assert await conn.fetchval(inline("SELECT $1::bytea", [blobs[1]])) == blobs[1]
        moment = datetime(2026, 11, 30, 20, 1, 2, 345678, tzinfo=UTC)
        other = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=-3, minutes=-30)))
        assert await conn.fetchval(inline("SELECT $1::timestamptz", [moment])) == moment
        assert await conn.fetchval(inline("SELECT $1::timestamptz", [other])) == other
        assert await conn.fetchval(inline("SELECT 10-$1", [-5])) == 15  # not a comment: "10--5"
        assert await conn.fetchval(inline("SELECT $1::bigint + $2", [2**40, 1])) == 2**40 + 1
        assert await conn.fetchval(inline("SELECT $2::text || $1::text", ["$2", "$1"])) == "$1$2"  # one pass
        assert await conn.fetchval(inline("SELECT $1::boolean", [True])) is True
    finally:
        await conn.close()
    with pytest.raises(ValueError):
        constant("a\x00b")
    with pytest.raises(TypeError):
        constant(1.5)
    with pytest.raises(TypeError):
        constant(datetime(2026, 1, 1))  # naive: no single constant


def _with_id(e: CloudEvent, event_id: str, type_: str = "thing.happened") -> CloudEvent:
    return e.model_copy(update={"id": event_id, "type": type_})


async def test_a_consumers_unit_of_work_is_three_messages_and_writes_what_the_values_are(harness: Harness) -> None:
    """Claim with BEGIN, the handler's statement, the commit statement with COMMIT: three messages, where
    the parameterised path sent five (BEGIN, claim, statement, commit statement, COMMIT). Every value
    (event id and type, consumer, outcome, key, topic, the event's bytes) comes back as it was."""
    stored: dict[str, tuple[str, str]] = {}
    for i, nasty in enumerate(NASTY):
        if not nasty:
            continue  # an event id is never empty
        cause = _with_id(event(i, "k"), f"id-{nasty}", type_=f"type-{nasty}")
        published = new_event(type="thing.done", service="test", subject=nasty, data={"nasty": nasty, "i": i})
        async with harness.uow() as uow:
            claim_conn = await _connection_of(uow)  # checked out, no transaction open: the claim begins it
            sent, log = _sent(claim_conn)
            assert await uow.claim(consumer=f"consumer-{nasty}", event=cause)
            assert claim_conn.is_in_transaction()
            await claim_conn.execute("INSERT INTO effect (event_id, key, seq) VALUES ($1, $2, $3)", cause.id, nasty, i)
            uow.publish(published, topic=f"{harness.topic}-{nasty}", key=nasty)
            await uow.set_outcome(event=cause, outcome=f"outcome {nasty}")
            await uow.commit()
            await asyncio.sleep(0)  # asyncpg calls the query loggers soon after, not in the statement's call
            claim_conn.remove_query_logger(log)  # type: ignore[arg-type]
            assert not claim_conn.is_in_transaction()
        assert len(sent) == 3, sent
        assert sent[0].startswith("BEGIN;INSERT INTO processed_event")
        assert sent[2].startswith("WITH w0 AS (UPDATE processed_event") and sent[2].endswith(";COMMIT")
        stored[cause.id] = (f"consumer-{nasty}", f"outcome {nasty}")
        async with harness.engine.connect() as c:
            row = (
                await c.execute(
                    text("SELECT topic, key, event_id, event_type, value FROM outbox_message WHERE event_id = :i"),
                    {"i": published.id},
                )
            ).one()
        assert tuple(row[:4]) == (f"{harness.topic}-{nasty}", nasty, published.id, "thing.done")
        assert CloudEvent.from_json_bytes(bytes(row[4])) == published
    async with harness.engine.connect() as c:
        rows = (await c.execute(text("SELECT event_id, consumer, event_type, outcome FROM processed_event"))).all()
    assert {r[0]: (r[1], r[3]) for r in rows} == stored
    assert all(r[2] == "type-" + r[0].removeprefix("id-") for r in rows)
    assert sorted(r[0] for r in await harness.effects()) == sorted(stored)


async def _connection_of(uow: object) -> asyncpg.Connection:
    transaction = uow._transaction  # type: ignore[attr-defined]
    return await transaction.connection()  # type: ignore[no-any-return]


async def test_a_duplicate_claim_is_one_message_and_rolls_back(harness: Harness) -> None:
    cause = _with_id(event(1, "k"), "dup-it's")
    async with harness.uow() as uow:
        assert await uow.claim(consumer="c", event=cause)
        await uow.commit()
    async with harness.uow() as uow:
        conn = await _connection_of(uow)
        sent, _ = _sent(conn)
        assert not await uow.claim(consumer="c", event=cause)
        assert conn.is_in_transaction()
        await asyncio.sleep(0)  # the loggers are called soon after the statement
        assert len(sent) == 1
    assert not conn.is_in_transaction()  # rolled back at the end of the block
    async with harness.engine.connect() as c:
        assert (await c.execute(text("SELECT count(*) FROM processed_event"))).scalar_one() == 1


async def test_a_nul_takes_the_parameterised_path_and_the_server_refuses_it_as_before(harness: Harness) -> None:
    for where in ("claim", "outcome"):
        cause = _with_id(event(1, "k"), "nul\x00id" if where == "claim" else f"ok-{where}")
        with pytest.raises(asyncpg.CharacterNotInRepertoireError):
            async with harness.uow() as uow:
                assert await uow.claim(consumer="c", event=cause)
                await uow.set_outcome(event=cause, outcome="with a \x00 NUL")
                uow.publish(event(2, "k"), topic=harness.topic)
                await uow.commit()
    async with harness.engine.connect() as c:
        assert (await c.execute(text("SELECT count(*) FROM processed_event"))).scalar_one() == 0
        assert (await c.execute(text("SELECT count(*) FROM outbox_message"))).scalar_one() == 0


async def test_a_failing_commit_statement_commits_nothing_and_leaves_no_transaction_open(harness: Harness) -> None:
    """The statement and COMMIT are one message: when the statement fails, the server skips the COMMIT,
    the error is the statement's, and the claim and the handler's write are rolled back with it."""
    taken = event(1, "k")
    async with harness.uow() as uow:
        uow.publish(taken, topic=harness.topic)
        await uow.commit()
    cause = event(2, "k")
    with pytest.raises(asyncpg.UniqueViolationError):
        async with harness.uow() as uow:
            assert await uow.claim(consumer="c", event=cause)
            conn = await driver_connection(uow.session)
            await conn.execute("INSERT INTO effect (event_id, key, seq) VALUES ('lost', 'k', 1)")
            uow.publish(taken, topic=harness.topic)  # its id is in the outbox already
            await uow.commit()
    assert await harness.effects() == []
    async with harness.engine.connect() as c:
        assert (await c.execute(text("SELECT count(*) FROM processed_event"))).scalar_one() == 0
        assert (await c.execute(text("SELECT count(*) FROM outbox_message"))).scalar_one() == 1
        sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in%'"
        assert (await c.execute(text(sql))).scalar_one() == 0
    # The consumer retries it: claimed again, committed.
    async with harness.uow() as uow:
        assert await uow.claim(consumer="c", event=cause)
        await uow.commit()
