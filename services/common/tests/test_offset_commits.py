"""Offset commits are coalesced (docs/performance.md, fifth round) and nothing is given up for it.

A consumer commits what it handled at most once per ``commit_interval`` (not after every poll), before
a rebalance gives its partitions to another member, and when it stops; a consumer that never got to
commit leaves a tail that the next one sees again and the inbox absorbs. The watchdog's lag probe
has a connection of its own, so it never waits behind the fetch the broker holds. Real Kafka and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from common_testkit import Harness, event, eventually, make_consumer, recording_handler, running

from backoffice_common.kafka import make_producer


async def _committed_and_ends(h: Harness) -> tuple[dict[int, int | None], dict[int, int]]:
    probe = AIOKafkaConsumer(bootstrap_servers=h.bootstrap, group_id=f"group-{h.service}", enable_auto_commit=False)
    await probe.start()
    try:
        partitions = [TopicPartition(h.topic, p) for p in range(3)]  # the harness's topic has three
        ends = await probe.end_offsets(partitions)
        committed = {tp.partition: await probe.committed(tp) for tp in partitions}
        return committed, {tp.partition: ends[tp] for tp in partitions}
    finally:
        await probe.stop()


async def _committed_to_the_end(h: Harness) -> bool:
    committed, ends = await _committed_and_ends(h)
    assert sum(ends.values()) > 0
    return all(committed[p] == end for p, end in ends.items() if end > 0)


async def _send(h: Harness, seqs: range, *, pause: float = 0.0, keys: int = 3) -> None:
    producer = make_producer(h.bootstrap, client_id="commit-test", request_timeout_ms=10000)
    await producer.start()
    try:
        for seq in seqs:
            e = event(seq, f"k{seq % keys}")
            await producer.send_and_wait(h.topic, e.to_json_bytes(), key=e.subject.encode())
            await asyncio.sleep(pause)
    finally:
        await producer.stop()


async def _until(check: object, timeout: float = 60.0) -> None:
    async def ok() -> bool:
        return bool(check())  # type: ignore[operator]

    await eventually(ok, timeout=timeout, interval=0.05)


async def test_commits_are_coalesced_and_still_reach_the_end_within_the_interval(harness: Harness) -> None:
    h = harness
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)}, commit_interval=1.5)
    polls = 0
    handle_partition = consumer._handle_partition

    async def counting(records: list) -> None:  # type: ignore[type-arg]
        nonlocal polls
        polls += 1
        await handle_partition(records)

    consumer._handle_partition = counting  # type: ignore[method-assign]
    async with running(consumer.run):
        await _until(lambda: consumer._consumer is not None and consumer._consumer.assignment())
        started = time.monotonic()
        await _send(h, range(1, 13), pause=0.05)  # one at a time: (nearly) one poll each
        await _until(lambda: consumer.handled == 12)
        await eventually(lambda: _committed_to_the_end(h), timeout=10, interval=0.1)
        elapsed = time.monotonic() - started
    # one commit per 1.5 s at most while records came, where a commit per poll made one per record
    assert polls >= 6, polls
    assert 1 <= consumer.offset_commits <= elapsed / 1.5 + 2, (consumer.offset_commits, elapsed)
    assert consumer.offset_commits < polls, (consumer.offset_commits, polls)
    assert len(await h.effects()) == 12


async def test_a_stop_commits_what_was_handled_before_the_interval_ran_out(harness: Harness) -> None:
    h = harness
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)}, commit_interval=300)
    async with running(consumer.run):
        await _send(h, range(1, 6))
        await _until(lambda: consumer.handled == 5)
        await asyncio.sleep(0.5)
        committed, _ = await _committed_and_ends(h)
        assert set(committed.values()) == {None}  # handled, not committed yet: the interval is 5 minutes
        assert consumer.health().lag == 0 or consumer.health().lag is None  # the lag counts what was handled
    assert await _committed_to_the_end(h)  # committed on the way out
    assert consumer.offset_commits == 1


async def test_a_rebalance_commits_what_was_handled_before_the_partitions_move(harness: Harness) -> None:
    h = harness
    first = make_consumer(h, {"thing.happened": recording_handler(h)}, commit_interval=300)
    second = make_consumer(h, {"thing.happened": recording_handler(h)}, commit_interval=300)
    async with running(first.run):
        await _send(h, range(1, 10))
        await _until(lambda: first.handled == 9)
        async with running(second.run):
            # the second member joins: the first gives up some partitions, committing them first
            await _until(lambda: second._consumer is not None and len(second._consumer.assignment()) > 0, timeout=90)
            # (aiokafka revokes every partition of every member, then assigns anew)
            assert await _committed_to_the_end(h), await _committed_and_ends(h)
            await asyncio.sleep(2)
            assert second.handled == 0  # nothing of what the first handled was delivered again
            await _send(h, range(10, 40), keys=30)  # thirty keys: every partition gets some
            await _until(lambda: first.handled + second.handled == 39)
            assert second.handled > 0
    assert sorted(seq for _, _, seq in await h.effects()) == list(range(1, 40))
    assert await _committed_to_the_end(h)


async def test_a_consumer_that_never_committed_leaves_a_tail_that_the_inbox_absorbs(harness: Harness) -> None:
    h = harness
    crashed = make_consumer(h, {"thing.happened": recording_handler(h)}, commit_interval=300)

    async def never(*_: object, **__: object) -> None:  # it dies before its commit: nothing reaches the group
        return None

    crashed._commit_pending = never  # type: ignore[method-assign]
    async with running(crashed.run):
        await _send(h, range(1, 6))
        await _until(lambda: crashed.handled == 5)
    committed, _ = await _committed_and_ends(h)
    assert set(committed.values()) == {None}
    successor = make_consumer(h, {"thing.happened": recording_handler(h)})
    async with running(successor.run):
        await _until(lambda: successor.handled == 5)  # the whole tail again...
        await eventually(lambda: _committed_to_the_end(h), timeout=15, interval=0.1)
    assert len(await h.effects()) == 5  # ...and each effect once


async def test_the_lag_probe_does_not_wait_behind_the_fetch_the_broker_holds(harness: Harness) -> None:
    h = harness
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)})
    async with running(consumer.run):
        await _until(lambda: consumer.health().lag is not None)  # the watchdog's first probe
        kafka_consumer = consumer._consumer
        assert kafka_consumer is not None
        await asyncio.sleep(0.5)  # the consumer's connection now has an empty fetch held (up to 20 s)
        took = []
        for _ in range(6):
            started = time.monotonic()
            assert await consumer._committed_lag(kafka_consumer) == 0
            took.append(time.monotonic() - started)
            await asyncio.sleep(0.3)
    # on the consumer's connection a probe waited for the held fetch (FETCH_MAX_WAIT_MS, 20 s)
    assert max(took) < 1.0, took
