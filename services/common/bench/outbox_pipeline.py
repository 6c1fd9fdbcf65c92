"""Benchmark of the outbox path: commit -> relay -> Kafka -> idempotent consumer (not a test).

Two measurements against the real PostgreSQL and Kafka of the current profile:
  1. throughput: N events committed (one transaction each, from C concurrent writers) and the
     time until the consumer has handled all of them -> events per second end to end;
  2. latency at a fixed modest rate: R events/s for S seconds, commit-to-consume latency p50/p99.

    source deploy/env.sh && .venv/bin/python services/common/bench/outbox_pipeline.py --events 2000 --rate 100
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from sqlalchemy.ext.asyncio import create_async_engine

from backoffice_common.consumer import EventConsumer
from backoffice_common.db import make_session_factory, new_metadata
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.kafka import TopicSpec, dlq_topic, ensure_topics, make_producer
from backoffice_common.messaging import messaging_tables
from backoffice_common.outbox import OutboxRelay
from backoffice_common.testing import private_database, unique_prefix
from backoffice_common.uow import UnitOfWork


async def run(events: int, writers: int, rate: float, seconds: float) -> None:
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    prefix = unique_prefix()
    topic = f"{prefix}bench"
    await ensure_topics(bootstrap, [TopicSpec(topic, 3, 1), TopicSpec(dlq_topic(topic), 1, 1)], client_id="bench")
    async with private_database() as url:
        metadata = new_metadata()
        tables = messaging_tables(metadata)
        engine = create_async_engine(url, pool_size=writers + 5)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        factory = make_session_factory(engine)

        def uow() -> UnitOfWork:
            return UnitOfWork(factory, tables=tables, service="bench")

        received: dict[str, float] = {}
        committed: dict[str, float] = {}
        done = asyncio.Event()
        expected = 0

        async def handle(event: CloudEvent, work: UnitOfWork) -> None:
            received[event.id] = time.perf_counter()
            if len(received) >= expected:
                done.set()

        def producer() -> object:
            return make_producer(bootstrap, client_id="bench")

        relay = OutboxRelay(
            dsn=url.replace("+asyncpg", ""),
            service="bench",
            producer_factory=producer,  # type: ignore[arg-type]
            poll_interval=1.0,
        )
        consumer = EventConsumer(
            service="bench",
            bootstrap_servers=bootstrap,
            group_id=f"{prefix}bench",
            topics=[topic],
            handlers={"bench.happened": handle},
            uow_factory=uow,
            producer_factory=producer,  # type: ignore[arg-type]
        )
        tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]

        async def write(i: int) -> None:
            e = new_event(type="bench.happened", service="bench", subject=f"key-{i % 50}", data={"i": i})
            async with uow() as work:
                work.publish(e, topic=topic)
                await work.commit()
            committed[e.id] = time.perf_counter()

        # warm-up: the consumer joins its group and the relay takes the lock
        expected = 1
        await write(-1)
        await asyncio.wait_for(done.wait(), 60)
        received.clear()
        committed.clear()
        done.clear()

        expected = events
        started = time.perf_counter()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(events):
            queue.put_nowait(i)

        async def writer() -> None:
            while not queue.empty():
                await write(queue.get_nowait())

        await asyncio.gather(*(writer() for _ in range(writers)))
        write_done = time.perf_counter()
        await asyncio.wait_for(done.wait(), 300)
        finished = time.perf_counter()
        print(f"throughput: {events} events, {writers} writers")
        print(f"  commits/s          {events / (write_done - started):8.0f}")
        print(f"  end-to-end events/s {events / (finished - started):8.0f}  ({finished - started:.2f}s)")

        received.clear()
        committed.clear()
        done.clear()
        total = int(rate * seconds)
        expected = total
        interval = 1.0 / rate
        next_at = time.perf_counter()
        pending = []
        for i in range(total):
            pending.append(asyncio.create_task(write(10_000_000 + i)))
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        await asyncio.gather(*pending)
        await asyncio.wait_for(done.wait(), 300)
        latencies = sorted((received[k] - committed[k]) * 1000 for k in committed if k in received)
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"latency at {rate:.0f} events/s for {seconds:.0f}s ({len(latencies)} events)")
        print(f"  commit-to-consume p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {latencies[-1]:7.1f} ms")

        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(run(args.events, args.writers, args.rate, args.seconds))


if __name__ == "__main__":
    main()
