"""``EventConsumer(fetch_linger_ms=...)``: after a fetch that brought records the broker holds the next one
for the linger, so a burst comes in a few polls instead of one a record; the first record after a rest
is still handled at once, and at rest the consumer long-polls again (against the real broker)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from common_testkit import Harness, make_consumer, recording_handler, running

from backoffice_common.consumer import EventConsumer, _fetcher_takes_linger
from backoffice_common.events import new_event
from backoffice_common.kafka import make_producer

LINGER_MS = 3000


async def _burst(h: Harness, consumer: EventConsumer, *, first_seq: int, count: int) -> tuple[int, float]:
    """Sends ``count`` records 100 ms apart (one key); returns the polls that brought them and how long the
    first took to be handled."""
    producer = make_producer(h.bootstrap, client_id="linger-test", request_timeout_ms=5000)
    await producer.start()
    try:
        polls, handled = consumer.polls_with_records, consumer.handled
        first_latency = 0.0
        for i in range(count):
            e = new_event(type="thing.happened", service="test", subject="k", data={"seq": first_seq + i})
            sent = time.monotonic()
            await producer.send_and_wait(h.topic, e.to_json_bytes(), key=b"k")
            if i == 0:
                while consumer.handled < handled + 1:
                    await asyncio.sleep(0.01)
                first_latency = time.monotonic() - sent
            else:
                await asyncio.sleep(0.1)
        deadline = time.monotonic() + 30
        while consumer.handled < handled + count:
            assert time.monotonic() < deadline, (consumer.handled, handled, count)
            await asyncio.sleep(0.02)
        return consumer.polls_with_records - polls, first_latency
    finally:
        await producer.stop()


def _count_fetches(consumer: EventConsumer) -> list[tuple[int, int]]:
    """The (max wait, min bytes) of each fetch request the consumer's fetcher sends from now on."""
    assert consumer._consumer is not None
    fetcher = consumer._consumer._fetcher
    sent: list[tuple[int, int]] = []
    proc = fetcher._proc_fetch_request

    async def counting(assignment: object, node_id: int, request: object) -> object:
        sent.append((request._max_wait_ms, request._min_bytes))  # type: ignore[attr-defined]
        return await proc(assignment, node_id, request)

    fetcher._proc_fetch_request = counting
    return sent


async def test_a_burst_comes_in_a_few_polls_the_first_record_at_once_and_at_rest_the_fetch_long_polls(
    harness: Harness,
) -> None:
    h = harness
    consumer = make_consumer(
        h, {"thing.happened": recording_handler(h)}, fetch_linger_ms=LINGER_MS, batch_transactions=True
    )
    long_poll = (EventConsumer.FETCH_MAX_WAIT_MS, 1)
    lingering = (LINGER_MS, EventConsumer.LINGER_MIN_BYTES)
    async with running(consumer.run):
        while not consumer.health().running:
            await asyncio.sleep(0.01)
        sent = _count_fetches(consumer)
        await _burst(h, consumer, first_seq=0, count=1)  # joined the group, fetched once
        await asyncio.sleep(1.5 * LINGER_MS / 1000)  # the lingering fetch after it found nothing
        assert sent[-2:] == [lingering, long_poll], sent
        assert lingering not in sent[:-2], sent  # until the first record: long polls

        polls, first_latency = await _burst(h, consumer, first_seq=1, count=12)
        # the first at once (the long poll answers at the first record), the eleven behind it in the one or
        # two lingering fetches that followed, not one poll each
        assert first_latency < LINGER_MS / 1000 / 2, first_latency
        assert polls <= 3, polls
        assert sent.count(lingering) >= 2, sent

        # no record for a linger: back to the long poll, which then holds (no fetch a linger at rest)
        await asyncio.sleep(2.5 * LINGER_MS / 1000)
        assert sent[-2:] == [lingering, long_poll], sent
        count = len(sent)
        await asyncio.sleep(LINGER_MS / 1000)
        assert len(sent) == count, sent

        # and the next record after the rest is handled at once again
        _, first_latency = await _burst(h, consumer, first_seq=13, count=1)
        assert first_latency < LINGER_MS / 1000 / 2, first_latency

    effects = await h.effects()
    assert [seq for _, _, seq in effects] == list(range(14))  # each once, in order
    assert consumer.batches_committed >= 1


async def test_without_a_linger_the_same_burst_takes_about_a_poll_a_record(harness: Harness) -> None:
    """The control of the test above: what the linger saves."""
    h = harness
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)}, batch_transactions=True)
    async with running(consumer.run):
        while not consumer.health().running:
            await asyncio.sleep(0.01)
        sent = _count_fetches(consumer)
        await _burst(h, consumer, first_seq=0, count=1)
        polls, _ = await _burst(h, consumer, first_seq=1, count=12)
        assert set(sent) == {(EventConsumer.FETCH_MAX_WAIT_MS, 1)}, sent
    assert polls >= 6, polls
    assert [seq for _, _, seq in await h.effects()] == list(range(13))


def test_an_aiokafka_without_the_fetchers_attributes_is_told_apart() -> None:
    """The consumer then logs it and runs without the linger (aiokafka has no public setter for them)."""
    fetcher = SimpleNamespace(_fetch_min_bytes=1, _fetch_max_wait_ms=20000, _get_actions_per_node=lambda a: ((), ()))
    assert _fetcher_takes_linger(fetcher)
    assert not _fetcher_takes_linger(SimpleNamespace(_fetch_min_bytes=1, _fetch_max_wait_ms=20000))
    assert not _fetcher_takes_linger(SimpleNamespace())
    assert not _fetcher_takes_linger(None)
