"""The outbox relay's work per event, an older relay against the current one, alternated (not a test).

Each variant gets a private database of the current profile's PostgreSQL and a topic of its Kafka, and
its relay (``OutboxRelay`` of this checkout, or of ``--old`` loaded from git) runs in this process.
A writer commits ``--n`` events one by one at ``--rate`` per second (each a unit of work with its
NOTIFY, as a service's commands and consumers write them), the relay publishes them, and the round
ends when every row is marked sent. Reported per event: the CPU of this process (writer + relay +
producer; the writer's share is the same in both), the CPU of the database's backends (``/proc``),
and the statements the relay sent (each its own transaction: asyncpg's query logger). Both
variants must leave every row sent and the topic holding every event, each key's in order.

    source deploy/env.sh && .venv/bin/python services/common/bench/relay_cpu.py --old b0bb654 --n 300 --rate 100
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from backoffice_common import outbox
from backoffice_common.db import make_session_factory, new_metadata
from backoffice_common.events import CloudEvent
from backoffice_common.kafka import TopicSpec, ensure_topics, make_producer
from backoffice_common.messaging import messaging_tables
from backoffice_common.testing import private_database, unique_prefix
from backoffice_common.uow import UnitOfWork

TICKS = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parents[3]


def old_module(commit: str) -> Any:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:services/common/src/backoffice_common/outbox.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "old_outbox.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_outbox", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_outbox"] = module
    spec.loader.exec_module(module)
    return module


def cpu_of(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def counting(relay_class: type[Any]) -> type[Any]:
    """The relay class, counting the statements it sends on its connection (asyncpg's query logger)."""

    class Counting(relay_class):  # type: ignore[misc,valid-type]
        statements = 0

        async def _publish_while_leader(self, conn: asyncpg.Connection) -> None:
            conn.add_query_logger(self._count)
            await super()._publish_while_leader(conn)

        def _count(self, _: Any) -> None:
            self.statements += 1

    return Counting


class Variant:
    def __init__(self, name: str, relay_class: type[Any]) -> None:
        self.name = name
        self.relay_class = counting(relay_class)
        self.statements: list[float] = []
        self.client: list[float] = []
        self.backend: list[float] = []

    async def setup(self, stack: AsyncExitStack, bootstrap: str) -> None:
        url = await stack.enter_async_context(private_database())
        self.db = url.rsplit("/", 1)[1]
        self.dsn = url.replace("+asyncpg", "")
        self.topic = f"{unique_prefix()}relay-bench"
        await ensure_topics(bootstrap, [TopicSpec(self.topic, 3, 1)], client_id="bench")
        tables = messaging_tables(new_metadata())
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        stack.push_async_callback(engine.dispose)
        async with engine.begin() as conn:
            await conn.run_sync(tables.outbox.create)
            await conn.run_sync(tables.inbox.create)
        factory = make_session_factory(engine)
        self.uow = lambda: UnitOfWork(factory, tables=tables, service=self.name)
        self.relay = self.relay_class(
            dsn=self.dsn,
            service=self.name,
            producer_factory=lambda: make_producer(bootstrap, client_id=f"bench-{self.name}"),
            poll_interval=5.0,
        )
        task = asyncio.create_task(self.relay.run())
        stack.callback(task.cancel)
        self.admin = await asyncpg.connect(self.dsn)
        stack.push_async_callback(self.admin.close)

    async def write(self, i: int) -> None:
        event = CloudEvent(
            id=f"e-{i}", source="backoffice/bench", type="bench.done", subject=f"k{i % 20}", data={"i": i}
        )
        async with self.uow() as uow:
            uow.publish(event, topic=self.topic)
            await uow.commit()

    async def unsent(self) -> int:
        return int(await self.admin.fetchval("SELECT count(*) FROM outbox_message WHERE sent_at IS NULL"))

    async def round(self, start: int, n: int, rate: float) -> None:
        async def backends() -> list[int]:
            rows = await self.admin.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", self.db
            )
            return [r["pid"] for r in rows]

        pids = await backends()
        s0 = self.relay.statements
        c0, b0 = time.process_time(), cpu_of(pids)
        next_at = time.perf_counter()
        for i in range(start, start + n):
            await self.write(i)
            next_at += 1 / rate
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        while await self.unsent():
            await asyncio.sleep(0.05)
        c1, b1 = time.process_time(), cpu_of(pids)
        self.statements.append((self.relay.statements - s0) / n)
        self.client.append((c1 - c0) / n * 1000)
        self.backend.append((b1 - b0) / n * 1000)


async def on_the_topic(bootstrap: str, topic: str) -> list[tuple[str, int]]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    seen: list[tuple[str, int]] = []
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=2000)
            if not batch:
                return seen
            for records in batch.values():
                for record in records:
                    event = CloudEvent.from_json_bytes(record.value)
                    seen.append((record.key.decode(), int(event.data["i"])))
    finally:
        await consumer.stop()


async def run(old: str, n: int, rounds: int, rate: float) -> None:
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    variants = [Variant("old", old_module(old).OutboxRelay), Variant("new", outbox.OutboxRelay)]
    async with AsyncExitStack() as stack:
        for v in variants:
            await v.setup(stack, bootstrap)
        for v in variants:  # warm-up: leadership, the producer, statement caches
            await v.round(-50, 50, rate)
            v.client.clear(), v.backend.clear(), v.statements.clear()
        for r in range(rounds):
            for v in variants if r % 2 == 0 else reversed(variants):
                await v.round(r * n, n, rate)
        for v in variants:
            seen = await on_the_topic(bootstrap, v.topic)
            assert len(seen) == (rounds * n + 50), (v.name, len(seen))
            for key in {k for k, _ in seen}:
                order = [i for k, i in seen if k == key]
                assert order == sorted(order), f"{v.name}: key {key} out of order"
            assert await v.unsent() == 0
    load = os.getloadavg()
    print(f"outbox relay, {rounds} rounds x {n} events at {rate:g}/s, alternated, load {load[0]:.2f}/{load[1]:.2f}")
    for v in variants:
        print(
            f"  {v.name}: process CPU {statistics.median(v.client):.3f} ms/event (writer + relay),"
            f" backends {statistics.median(v.backend):.3f} ms/event,"
            f" relay statements {statistics.median(v.statements):.2f}/event"
            f"   (process rounds {', '.join(f'{x:.3f}' for x in v.client)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, help="the commit whose relay is the old one")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    asyncio.run(run(args.old, args.n, args.rounds, args.rate))


if __name__ == "__main__":
    main()
