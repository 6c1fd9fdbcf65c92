"""``EventConsumer(batch_transactions=True)``: one transaction per partition's poll, the same outcome as one
per event (against the real Kafka broker and PostgreSQL)."""

from __future__ import annotations

from common_testkit import (
    Harness,
    event,
    eventually,
    make_consumer,
    make_relay,
    read_topic,
    recording_handler,
    running,
    write_events,
)
from sqlalchemy import text

from backoffice_common.events import CloudEvent
from backoffice_common.kafka import dlq_topic
from backoffice_common.testing import publish_events
from backoffice_common.uow import UnitOfWork


async def _count_is(h: Harness, n: int) -> bool:
    return len(await h.effects()) == n


async def _published(h: Harness, events: list[CloudEvent]) -> None:
    """Publish before the consumer starts, so that its first poll finds them all."""
    await write_events(h, events)
    async with running(make_relay(h).run):
        await eventually(lambda: _unsent_is_zero(h))


async def _unsent_is_zero(h: Harness) -> bool:
    return await h.unsent() == 0


async def test_a_polled_batch_is_handled_in_one_transaction_once_in_order_and_seen_events_are_skipped(
    harness: Harness,
) -> None:
    h = harness
    events = [event(i, f"key-{i % 3}") for i in range(30)]
    async with h.uow() as uow:  # one of them was handled before (a redelivery)
        assert await uow.claim(consumer=h.service, event=events[4])
        await uow.commit()
    await _published(h, events)
    await publish_events(h.bootstrap, h.topic, [events[0]])  # redelivered: a duplicate in the same poll
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)}, batch_transactions=True)

    async with running(consumer.run):
        await eventually(lambda: _count_is(h, 29))
        await eventually(lambda: _handled_is(consumer, 31))

    effects = await h.effects()
    assert sorted(e[0] for e in effects) == sorted(e.id for e in events if e is not events[4])
    for key in ("key-0", "key-1", "key-2"):
        seqs = [seq for _, k, seq in effects if k == key]
        assert seqs == sorted(seqs)
    assert 1 <= consumer.batches_committed < 31
    assert consumer.batches_rolled_back == 0
    async with h.engine.connect() as conn:
        inbox = (await conn.execute(text("SELECT count(*) FROM processed_event"))).scalar_one()
    assert inbox == 30


async def test_a_failing_event_rolls_its_batch_back_and_the_batch_is_handled_event_by_event(harness: Harness) -> None:
    h = harness
    calls: list[int] = []

    async def poisoned(e: CloudEvent, uow: UnitOfWork) -> None:
        calls.append(e.data["seq"])
        await recording_handler(h)(e, uow)
        if e.data["seq"] == 5:
            raise RuntimeError("downstream refused")

    events = [event(i, "same-key") for i in range(10)]
    await _published(h, events)
    consumer = make_consumer(h, {"thing.happened": poisoned}, batch_transactions=True, max_attempts=2)

    async with running(consumer.run):
        await eventually(lambda: _count_is(h, 9))
        dead = await read_topic(h.bootstrap, dlq_topic(h.topic), expected=1)

    # The batch's effects were rolled back with it: each good event has exactly one effect, in order.
    assert [seq for _, _, seq in await h.effects()] == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert consumer.batches_rolled_back >= 1
    assert calls.count(5) == 1 + 2  # once in the batch, then its two attempts alone
    assert len(dead) == 1
    assert b"downstream refused" in dead[0][2]["dlq-error"]


async def _handled_is(consumer, n: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(consumer.handled == n)
