"""Aggregates record their events; only the unit of work turns them into outbox rows, at commit,
in the same transaction. Real PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field

from common_testkit import Harness, event
from sqlalchemy import text

from backoffice_common.db import make_session_factory
from backoffice_common.events import CloudEvent
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
