"""How long a partition moved by a rebalance waits for its first fetch, by long poll (not a test).

Two consumers of one group on a new three-partition topic (the consumer's settings: 5-s heartbeats,
15-s session, the long poll given); once both hold partitions and the first has an empty fetch held
for 2 s, the second stops (leaves the group), the first gets its partitions, and one record is sent
to each partition that moved. Printed: the seconds from the sends until the first consumer had them
all. The broker answers one request per connection at a time, so the first fetch for the moved
partitions can wait behind the fetch still held for the old ones, up to the long poll.

    BACKOFFICE_PROFILE=test bash -c 'source deploy/env.sh && .venv/bin/python \
        services/common/bench/rebalance_wait.py --waits 20000,5000,20000,5000'
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic


async def trial(bootstrap: str, wait_ms: int) -> float:
    topic = f"bench-rebalance-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])
    finally:
        await admin.close()

    def member() -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"g-{topic}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=wait_ms,
            session_timeout_ms=15000,
            heartbeat_interval_ms=5000,
            consumer_timeout_ms=5000,
        )

    got: dict[int, float] = {}

    async def poll(consumer: AIOKafkaConsumer) -> None:
        while True:
            for records in (await consumer.getmany(timeout_ms=10000)).values():
                for record in records:
                    got.setdefault(record.partition, time.monotonic())

    first, second = member(), member()
    await first.start()
    polling = asyncio.create_task(poll(first))
    await second.start()
    leaving = asyncio.create_task(poll(second))
    try:
        while not (first.assignment() and second.assignment()):
            await asyncio.sleep(0.05)
        kept = {tp.partition for tp in first.assignment()}
        await asyncio.sleep(2)  # the first member's empty fetch is held now
        leaving.cancel()
        await asyncio.gather(leaving, return_exceptions=True)
        await second.stop()
        while len(first.assignment()) < 3:
            await asyncio.sleep(0.01)
        moved = [p for p in range(3) if p not in kept]
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        sent = time.monotonic()
        try:
            for partition in moved:
                await producer.send_and_wait(topic, b"x", partition=partition)
        finally:
            await producer.stop()
        while len(got) < len(moved) and time.monotonic() - sent < 60:
            await asyncio.sleep(0.01)
        return max(got.values()) - sent if len(got) == len(moved) else float("inf")
    finally:
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
        await first.stop()


async def main(args: argparse.Namespace) -> None:
    for wait_ms in (int(w) for w in args.waits.split(",")):
        took = await trial(args.bootstrap, wait_ms)
        print(f"long poll {wait_ms:6d} ms: the moved partitions' records consumed {took:6.2f} s after they were sent")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default=os.environ.get("BACKOFFICE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--waits", default="20000,5000,20000,5000")
    asyncio.run(main(parser.parse_args()))
