"""The watchdog measures the lag from the consumer's own fetch answers, and asks the broker only when
they are old (docs/performance.md, eighth round: Kafka).

Each fetch answer carries every partition's last stable offset, and a fetcher that fetches is
answered at once when a record arrives and at least every long poll at rest: so at rest the
watchdog sends no ListOffsets request. A fetcher that stopped fetching (aiokafka stuck after a broker
restart; here: its partitions paused behind the consumer's back) leaves its answers to grow old, and
the probe finds the lag and the stall as before. Real Kafka and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer
from common_testkit import Harness, event, eventually, make_consumer, recording_handler, running

from backoffice_common.kafka import make_producer


@contextmanager
def counting_end_offsets() -> Iterator[list[int]]:
    """Counts the ListOffsets (end offsets) asked by any aiokafka consumer in this process."""
    calls: list[int] = []
    original = AIOKafkaConsumer.end_offsets

    async def counted(self: AIOKafkaConsumer, partitions: Any) -> Any:
        calls.append(len(partitions))
        return await original(self, partitions)

    AIOKafkaConsumer.end_offsets = counted  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        AIOKafkaConsumer.end_offsets = original  # type: ignore[method-assign]


async def _send(h: Harness, seqs: range) -> None:
    producer = make_producer(h.bootstrap, client_id="watchdog-test", request_timeout_ms=10000)
    await producer.start()
    try:
        for seq in seqs:
            e = event(seq, f"k{seq}")
            await producer.send_and_wait(h.topic, e.to_json_bytes(), key=e.subject.encode())
    finally:
        await producer.stop()


async def _until(check: object, timeout: float = 60.0) -> None:
    async def ok() -> bool:
        return bool(check())  # type: ignore[operator]

    await eventually(ok, timeout=timeout, interval=0.05)


async def test_an_idle_consumer_measures_its_lag_from_its_fetches_without_asking_the_broker(harness: Harness) -> None:
    h = harness
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)}, watchdog_interval=0.2, fetch_max_wait_ms=1000)
    await _send(h, range(3))
    with counting_end_offsets() as asked:
        async with running(consumer.run):
            await _until(lambda: consumer.handled == 3)
            await _until(lambda: consumer.health().lag == 0)
            await asyncio.sleep(1.5)  # every partition's fetch answered since (a 1-s long poll)
            before = len(asked)
            started = time.monotonic()
            lags = []
            while time.monotonic() - started < 3.0:  # about 15 looks of the watchdog
                await asyncio.sleep(0.2)
                lags.append(consumer.health().lag)
            assert set(lags) == {0}, lags
            assert not consumer.health().stalled
            # with the probe asked at every look, this was about 15
            assert len(asked) == before, asked[before:]

            # what arrives is handled, and the lag is 0 again, still without a request
            await _send(h, range(3, 5))
            await _until(lambda: consumer.handled == 5)
            await _until(lambda: consumer.health().lag == 0)
            assert len(asked) == before
    assert len(await h.effects()) == 5


async def test_a_fetcher_that_stops_fetching_is_still_found_stalled_by_the_probe(harness: Harness) -> None:
    h = harness
    consumer = make_consumer(
        h, {"thing.happened": recording_handler(h)}, stall_seconds=3.0, watchdog_interval=0.3, fetch_max_wait_ms=500
    )
    await _send(h, range(1))
    with counting_end_offsets() as asked:
        async with running(consumer.run):
            await _until(lambda: consumer.handled == 1)
            kafka_consumer = consumer._consumer
            assert kafka_consumer is not None
            # the fetcher stops fetching every partition: its answers grow old, nothing is handled
            kafka_consumer.pause(*kafka_consumer.assignment())
            # the fetch in flight answered: a 0.5-s long poll, which the broker's expiration reaper may answer up
            # to 1 s late (its timer slack, deploy/infra.sh); records sent before that would come back in its answer
            await asyncio.sleep(2.5)
            await _send(h, range(1, 3))
            await _until(lambda: consumer.restarts >= 1, timeout=60)  # found stalled: a new consumer
            assert asked  # the probe was asked once the fetch answers were old
            await _until(lambda: consumer.handled == 3, timeout=60)
    assert len(await h.effects()) == 3
