"""The inbox outcome is the consumer's business: handlers return it (or set it without the consumer's
name); event types without a handler cost no transaction and leave no inbox row, but the group's
offset still moves past them. Real Kafka and PostgreSQL."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from common_testkit import Harness, event, eventually, make_consumer, make_relay, running, write_events
from sqlalchemy import select

from backoffice_common.events import CloudEvent
from backoffice_common.uow import UnitOfWork


async def _outcomes(h: Harness) -> dict[str, str]:
    inbox = h.tables.inbox
    async with h.uow() as uow:
        rows = (await uow.session.execute(select(inbox.c.event_id, inbox.c.outcome, inbox.c.consumer))).all()
    assert {row.consumer for row in rows} <= {h.service}
    return {row.event_id: row.outcome for row in rows}


async def _committed_to_the_end(h: Harness) -> bool:
    probe = AIOKafkaConsumer(bootstrap_servers=h.bootstrap, group_id=f"group-{h.service}", enable_auto_commit=False)
    await probe.start()
    try:
        partitions = [TopicPartition(h.topic, p) for p in sorted(probe.partitions_for_topic(h.topic) or ())]
        if not partitions:
            await probe.topics()
            partitions = [TopicPartition(h.topic, p) for p in sorted(probe.partitions_for_topic(h.topic) or ())]
        ends = await probe.end_offsets(partitions)
        return all([(await probe.committed(tp)) == ends[tp] for tp in partitions if ends[tp] > 0])
    finally:
        await probe.stop()


async def test_handlers_return_or_set_the_outcome_and_unhandled_types_are_skipped(harness: Harness) -> None:
    h = harness

    async def returns_outcome(e: CloudEvent, uow: UnitOfWork) -> str:
        return f"recorded seq {e.data['seq']}"

    async def sets_outcome(e: CloudEvent, uow: UnitOfWork) -> None:
        await uow.set_outcome(event=e, outcome="set by the handler")

    async def says_nothing(e: CloudEvent, uow: UnitOfWork) -> None:
        return None

    events = [
        event(1, "k", type="thing.returned"),
        event(2, "k", type="thing.unknown"),
        event(3, "k", type="thing.set"),
        event(4, "k", type="thing.silent"),
        event(5, "k", type="thing.unknown"),
    ]
    await write_events(h, events)
    consumer = make_consumer(
        h, {"thing.returned": returns_outcome, "thing.set": sets_outcome, "thing.silent": says_nothing}
    )

    async def all_passed() -> bool:
        return consumer.handled == 5 and await _committed_to_the_end(h)

    async with running(make_relay(h).run, consumer.run):
        await eventually(all_passed)
    assert await _outcomes(h) == {
        events[0].id: "recorded seq 1",
        events[2].id: "set by the handler",
        events[3].id: "handled",  # the column default
    }
