"""The waits taken off a hop (docs/performance.md, sixth round), on a real broker and PostgreSQL.

- A slow handler (a contract's render runs in a thread for a few hundred milliseconds) no longer
  holds the records of the consumer's other partitions: they are taken off the fetcher and handled
  while it runs. Nor does a partition whose record waited while it ran lose its place in the next
  fetch: aiokafka sends a fetch without a partition whose records wait unconsumed for 0.1 s, and that
  partition's next record then waited for the broker to answer the others' fetch (up to the 20-s
  long poll).
- A unit of work's events of one key and topic leave the relay as one record batch (one produce
  request, in order), not one produce round trip after the other.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from common_testkit import Harness, event, eventually, make_consumer, make_relay, read_topic, running

from backoffice_common.events import CloudEvent
from backoffice_common.kafka import make_producer
from backoffice_common.uow import UnitOfWork


def _keys_on_distinct_partitions(count: int, partitions: int = 3) -> list[str]:
    """Keys that the default partitioner puts on ``count`` different partitions of the harness's topic."""
    chosen: dict[int, str] = {}
    partitioner = DefaultPartitioner()
    n = 0
    while len(chosen) < count:
        key = f"key-{n}"
        chosen.setdefault(partitioner(key.encode(), list(range(partitions)), list(range(partitions))), key)
        n += 1
    return list(chosen.values())


async def test_a_slow_handler_holds_neither_the_other_partitions_nor_their_next_fetch(harness: Harness) -> None:
    h = harness
    slow_key, other_key = _keys_on_distinct_partitions(2)
    handled_at: dict[int, float] = {}
    slow_running = asyncio.Event()

    async def handle(e: CloudEvent, uow: UnitOfWork) -> None:
        if e.data["seq"] == 0:
            slow_running.set()
            await asyncio.sleep(1.5)  # as a render in a thread: the loop is free meanwhile
        handled_at[e.data["seq"]] = time.monotonic()

    # the default long poll (20 s): a partition left out of the held fetch would wait for it
    consumer = make_consumer(h, {"thing.happened": handle})
    producer = make_producer(h.bootstrap, client_id="hop-test", request_timeout_ms=10000)
    await producer.start()

    async def send(seq: int, key: str) -> float:
        e = event(seq, key)
        await producer.send_and_wait(h.topic, e.to_json_bytes(), key=key.encode())
        return time.monotonic()

    try:
        async with running(consumer.run):
            # the consumer is up and fetching: a first record of each partition handled
            await send(100, slow_key)
            await send(101, other_key)
            await eventually(lambda: _async(len(handled_at) == 2), timeout=60, interval=0.05)

            await send(0, slow_key)
            await asyncio.wait_for(slow_running.wait(), timeout=30)
            sent = await send(1, other_key)
            await eventually(lambda: _async(1 in handled_at), timeout=30, interval=0.01)
            assert 0 not in handled_at, "the other partition's record waited for the slow handler"
            assert handled_at[1] - sent < 1.0

            await eventually(lambda: _async(0 in handled_at), timeout=30, interval=0.01)
            await asyncio.sleep(0.3)  # aiokafka's fetcher would have sent a fetch without that partition
            sent = await send(2, other_key)
            await eventually(lambda: _async(2 in handled_at), timeout=30, interval=0.01)
            assert handled_at[2] - sent < 2.0, f"the next record waited {handled_at[2] - sent:.1f} s for its fetch"
    finally:
        await producer.stop()


async def _async(value: bool) -> bool:
    return value


class _CountingProducer:
    """A real producer that counts the produce requests its client sends."""

    def __init__(self, h: Harness) -> None:
        self.produce_requests = 0
        self._h = h

    def __call__(self) -> AIOKafkaProducer:
        producer = make_producer(self._h.bootstrap, client_id="hop-test-relay", request_timeout_ms=10000)
        send = producer.client.send

        async def counting_send(node_id: int, request: Any, *args: Any, **kwargs: Any) -> Any:
            if type(request).__name__.startswith("ProduceRequest"):
                self.produce_requests += 1
            return await send(node_id, request, *args, **kwargs)

        producer.client.send = counting_send  # type: ignore[method-assign]
        return producer


async def test_a_units_events_of_one_key_leave_the_relay_as_one_batch_in_order(harness: Harness) -> None:
    h = harness
    producers = _CountingProducer(h)
    relay = make_relay(h, poll_interval=30.0)  # published on the NOTIFY, not by the fallback poll
    relay._producer_factory = producers
    events = [event(seq, "one-request") for seq in range(1, 5)]
    async with running(relay.run):
        await eventually(lambda: _async(relay.is_leader), timeout=30, interval=0.05)
        await asyncio.sleep(0.5)
        before = producers.produce_requests
        async with h.uow() as uow:
            for e in events:
                uow.publish(e, topic=h.topic)
            await uow.commit()
        committed = time.monotonic()

        async def all_sent() -> bool:
            return await h.unsent() == 0

        await eventually(all_sent, timeout=30, interval=0.02)
        assert time.monotonic() - committed < 5.0
        assert producers.produce_requests - before == 1
    records = await read_topic(h.bootstrap, h.topic, expected=4)
    assert [CloudEvent.from_json_bytes(value).data["seq"] for _, value, _ in records] == [1, 2, 3, 4]
    assert {key for key, _, _ in records} == {b"one-request"}
    assert all(headers["content-type"] == b"application/cloudevents+json" for _, _, headers in records)
