"""A unit of work's round trips (eighth round of #15): a consumer's unit of work whose only write at commit
is its handler's outcome sends the outcome's UPDATE and COMMIT as one message, the values as constants
(``db.text_literal``). What it writes is what the parameterised statement wrote, whatever the values hold;
a value that cannot be a constant takes the old path; a failure commits nothing. Real PostgreSQL."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from common_testkit import Harness, event
from sqlalchemy import text

from backoffice_common.db import driver_connection, text_literal
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
async def test_text_constants_read_back_as_the_values_whatever_the_server_reads_escapes_as(
    harness: Harness, standard_conforming_strings: str
) -> None:
    conn = await asyncpg.connect(harness.dsn)
    try:
        await conn.execute(f"SET standard_conforming_strings = {standard_conforming_strings}")
        for value in NASTY:
            assert await conn.fetchval(f"SELECT {text_literal(value)}::text") == value
            assert await conn.fetchval(f"SELECT {text_literal(value)}") == value  # untyped too
    finally:
        await conn.close()
    with pytest.raises(ValueError):
        text_literal("a\x00b")


def _with_id(e: CloudEvent, event_id: str, type_: str = "thing.happened") -> CloudEvent:
    return e.model_copy(update={"id": event_id, "type": type_})


async def test_an_outcome_alone_is_written_with_commit_in_one_message_as_the_values_are(harness: Harness) -> None:
    """Claim (BEGIN, then the INSERT), the handler's statement, then the outcome's UPDATE with COMMIT: four
    messages, where the old path sent five (the commit statement, then COMMIT). Every value (consumer, event
    id, outcome) is stored as it was."""
    stored: dict[str, tuple[str, str]] = {}
    for i, nasty in enumerate(NASTY):
        if not nasty:
            continue  # an event id is never empty
        cause = _with_id(event(i, "k"), f"id-{nasty}", type_=f"type-{nasty}")
        async with harness.uow() as uow:
            conn = await _connection_of(uow)  # checked out, no transaction open: the claim begins it
            sent, log = _sent(conn)
            assert await uow.claim(consumer=f"consumer-{nasty}", event=cause)
            await conn.execute("INSERT INTO effect (event_id, key, seq) VALUES ($1, $2, $3)", cause.id, nasty, i)
            await uow.set_outcome(event=cause, outcome=f"first {nasty}")
            await uow.set_outcome(event=cause, outcome=f"outcome {nasty}")  # the last one set wins
            await uow.commit()
            await asyncio.sleep(0)  # asyncpg calls the query loggers soon after, not in the statement's call
            conn.remove_query_logger(log)  # type: ignore[arg-type]
            assert not conn.is_in_transaction()
        assert len(sent) == 4, sent
        assert sent[0] == "BEGIN"
        assert sent[3].startswith("UPDATE processed_event SET outcome = E'")
        assert sent[3].endswith(";COMMIT")
        stored[cause.id] = (f"consumer-{nasty}", f"outcome {nasty}")
    async with harness.engine.connect() as c:
        rows = (await c.execute(text("SELECT event_id, consumer, event_type, outcome FROM processed_event"))).all()
    assert {r[0]: (r[1], r[3]) for r in rows} == stored
    assert all(r[2] == "type-" + r[0].removeprefix("id-") for r in rows)
    assert sorted(r[0] for r in await harness.effects()) == sorted(stored)


async def test_an_outcome_with_events_keeps_the_commit_statement_and_its_own_commit(harness: Harness) -> None:
    cause = event(1, "k")
    published = new_event(type="thing.done", service="test", subject="k", data={"q": "it's"})
    async with harness.uow() as uow:
        conn = await _connection_of(uow)
        sent, log = _sent(conn)
        assert await uow.claim(consumer="c", event=cause)
        uow.publish(published, topic=harness.topic)
        await uow.set_outcome(event=cause, outcome="published")
        await uow.commit()
        await asyncio.sleep(0)
        conn.remove_query_logger(log)  # type: ignore[arg-type]
    # (asyncpg may first look up the array types' codecs once per connection: the last two are ours)
    assert sent[-2].startswith("WITH w0 AS (UPDATE processed_event")
    assert sent[-1] == "COMMIT"
    async with harness.engine.connect() as c:
        assert (await c.execute(text("SELECT outcome FROM processed_event"))).scalar_one() == "published"
        row = (await c.execute(text("SELECT event_id, value FROM outbox_message"))).one()
    assert row[0] == published.id
    assert CloudEvent.from_json_bytes(bytes(row[1])) == published


async def _connection_of(uow: object) -> asyncpg.Connection:
    transaction = uow._transaction  # type: ignore[attr-defined]
    return await transaction.connection()  # type: ignore[no-any-return]


async def test_a_nul_takes_the_parameterised_path_and_the_server_refuses_it_as_before(harness: Harness) -> None:
    cause = event(1, "k")

    async def handle() -> None:
        async with harness.uow() as uow:
            assert await uow.claim(consumer="c", event=cause)
            await uow.set_outcome(event=cause, outcome="with a \x00 NUL")
            await uow.commit()

    with pytest.raises(asyncpg.CharacterNotInRepertoireError):
        await handle()
    async with harness.engine.connect() as c:
        assert (await c.execute(text("SELECT count(*) FROM processed_event"))).scalar_one() == 0


async def test_a_failing_outcome_update_commits_nothing_and_leaves_no_transaction_open(harness: Harness) -> None:
    """The UPDATE and COMMIT are one message: when the UPDATE fails, the server skips the COMMIT, the error is
    the UPDATE's, and the claim and the handler's write are rolled back with it."""
    async with harness.engine.begin() as c:
        await c.execute(text("ALTER TABLE processed_event ADD CONSTRAINT no_refused CHECK (outcome <> 'refused')"))
    cause = event(2, "k")

    async def handle() -> None:
        async with harness.uow() as uow:
            assert await uow.claim(consumer="c", event=cause)
            conn = await driver_connection(uow.session)
            await conn.execute("INSERT INTO effect (event_id, key, seq) VALUES ('lost', 'k', 1)")
            await uow.set_outcome(event=cause, outcome="refused")
            await uow.commit()

    with pytest.raises(asyncpg.CheckViolationError):
        await handle()
    assert await harness.effects() == []
    async with harness.engine.connect() as c:
        assert (await c.execute(text("SELECT count(*) FROM processed_event"))).scalar_one() == 0
        sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in%'"
        assert (await c.execute(text(sql))).scalar_one() == 0
    # The consumer retries it: claimed again, committed.
    async with harness.uow() as uow:
        assert await uow.claim(consumer="c", event=cause)
        await uow.set_outcome(event=cause, outcome="accepted")
        await uow.commit()
    async with harness.engine.connect() as c:
        assert (await c.execute(text("SELECT outcome FROM processed_event"))).scalar_one() == "accepted"
