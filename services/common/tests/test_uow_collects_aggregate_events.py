"""Aggregates record their events; only the unit of work turns them into outbox rows, at commit,
in the same transaction. Real PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field

from common_testkit import Harness, event
from sqlalchemy import text

from backoffice_common.db import driver_connection, make_session_factory
from backoffice_common.events import KAFKA_HEADERS, CloudEvent
from backoffice_common.uow import UnitOfWork


@dataclass
class Thing:
    key: str
    events: list[CloudEvent] = field(default_factory=list)

    def happen(self, seq: int) -> None:
        self.events.append(event(seq, self.key))


class ThingsUnitOfWork(UnitOfWork):
    async def collect_events(self) -> None:
        for thing in self.seen:
            for recorded in thing.events:
                self.publish(recorded, topic="things")
            thing.events.clear()


async def _outbox(h: Harness) -> list[tuple[str, str]]:
    async with h.engine.connect() as conn:
        rows = await conn.execute(text("SELECT event_id, key FROM outbox_message ORDER BY id"))
        return [(r[0], r[1]) for r in rows]


async def test_commit_writes_the_events_of_every_tracked_aggregate_once_and_rollback_writes_none(
    harness: Harness,
) -> None:
    def uow() -> ThingsUnitOfWork:
        return ThingsUnitOfWork(make_session_factory(harness.engine), tables=harness.tables, service=harness.service)

    first, second = Thing("a"), Thing("b")
    async with uow() as u:
        u.track(first)
        u.track(second)
        u.track(first)  # tracked twice, collected once
        first.happen(1)
        second.happen(2)
        expected = [(first.events[0].id, "a"), (second.events[0].id, "b")]
        await u.commit()
    assert await _outbox(harness) == expected

    dropped = Thing("c")
    async with uow() as u:
        u.track(dropped)
        dropped.happen(3)
    assert await _outbox(harness) == expected


async def test_the_raw_inbox_and_outbox_statements_run_in_the_sessions_transaction(harness: Harness) -> None:
    """``claim``, ``set_outcome`` and the outbox insert go through asyncpg on the session's own
    connection: a rollback takes them back with the ORM's work, a commit keeps them in publish order."""

    def uow() -> ThingsUnitOfWork:
        return ThingsUnitOfWork(make_session_factory(harness.engine), tables=harness.tables, service=harness.service)

    async def inbox() -> list[tuple[str, str, str]]:
        async with harness.engine.connect() as conn:
            rows = await conn.execute(text("SELECT consumer, event_id, outcome FROM processed_event ORDER BY event_id"))
            return [(r[0], r[1], r[2]) for r in rows]

    seen = event(1, "k")
    async with uow() as u:  # the claim is the transaction's first statement, then rolled back
        assert await u.claim(consumer="c1", event=seen)
        await u.set_outcome(event=seen, outcome="rolled back")
        await u.session.execute(text("SELECT 1"))
    assert await inbox() == []

    thing = Thing("k")
    async with uow() as u:
        assert await u.claim(consumer="c1", event=seen)
        u.track(thing)
        for seq in (2, 3, 4):
            thing.happen(seq)
        expected = [(recorded.id, "k") for recorded in thing.events]
        await u.set_outcome(event=seen, outcome="x" * 3000)
        await u.commit()
    async with uow() as u:  # the repeat is a duplicate, for this consumer only
        assert not await u.claim(consumer="c1", event=seen)
        assert await u.claim(consumer="c2", event=seen)
        await u.commit()
    assert await inbox() == [("c1", seen.id, "x" * 2000), ("c2", seen.id, "handled")]
    assert await _outbox(harness) == expected
    async with harness.engine.connect() as conn:
        headers = (await conn.execute(text("SELECT headers FROM outbox_message ORDER BY id LIMIT 1"))).scalar_one()
    assert headers["content-type"] == KAFKA_HEADERS["content-type"]


async def test_driver_connection_begins_the_sessions_transaction_so_raw_only_work_commits_or_rolls_back(
    harness: Harness,
) -> None:
    """With nothing run through SQLAlchemy, ``driver_connection`` still opens the session's own
    transaction (public API: an empty statement through the adapter), so the session's rollback takes
    back raw-only work and its commit keeps it; the transaction is begun once, not per call."""
    factory = make_session_factory(harness.engine)

    async def rows() -> list[str]:
        async with harness.engine.connect() as conn:
            return list((await conn.execute(text("SELECT event_id FROM processed_event ORDER BY 1"))).scalars())

    insert = "INSERT INTO processed_event (consumer, event_id, event_type) VALUES ('raw', $1, 'x')"
    async with factory() as session:
        conn = await driver_connection(session)
        assert conn.is_in_transaction()
        await conn.execute(insert, "rolled-back")
        assert await driver_connection(session) is conn
        await session.rollback()
    assert await rows() == []

    async with factory() as session:
        conn = await driver_connection(session)
        await conn.execute(insert, "committed")
        await session.commit()
        assert not conn.is_in_transaction()
    async with factory() as session:  # a session left without commit rolls back too
        await (await driver_connection(session)).execute(insert, "abandoned")
    assert await rows() == ["committed"]
