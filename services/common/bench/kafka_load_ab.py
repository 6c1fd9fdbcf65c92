"""Two brokers side by side under the same flow-like load: what a setting or a JVM flag costs per record
(not a test).

The sides are started as in ``kafka_idle_ab.py`` (a commit's or the working tree's ``deploy/infra.sh``,
each with extra environment: ``--b-env BACKOFFICE_KAFKA_JAVA_OPTS=...``). Each side gets the same clients
as the platform's: ``--groups`` consumer groups (``EventConsumer``'s session, heartbeat, 20-s long poll,
``read_committed``, offsets committed at most every 2 s) on one topic of 3 partitions, and one idempotent
``acks=all`` producer (no linger) sending ``--rate`` records a second, each a CloudEvent-sized value with
its headers, in bursts of 1-3 records to one key as a unit of work's events go. First both must answer
alike (every group reads back the same records: keys, values and headers), then, after
``--warmup`` seconds of the load, both are measured in the same ``--windows`` windows of ``--seconds``:
the broker's CPU (utime + stime of all its threads) per record produced, per second, and the produce's
acknowledgement time (p50 / p99 / max), with the load average.

The topic layout may differ between the sides (the brokers then run the same ``deploy/``): ``--topics``
topics that every group reads (a service reads 2-9), each of ``--a-partitions`` / ``--b-partitions``
partitions; a unit of work goes to one topic. aiokafka sends full fetches (no fetch sessions), so every
fetch names every partition a group reads, and the broker reads each of them.

    .venv/bin/python services/common/bench/kafka_load_ab.py --a-ref HEAD --b-ref worktree \\
        --b-env BACKOFFICE_KAFKA_JAVA_OPTS=-XX:TieredStopAtLevel=4 --rate 30 --windows 4
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kafka_idle_ab import TICK, Side, loadavg, threads

from backoffice_common.consumer import EventConsumer

TOPIC = "load-ab"
VALUE = b'{"specversion":"1.0","data":{' + b'"x":"' + b"v" * 700 + b'"}}'


class Load:
    def __init__(self, side: Side, groups: int, *, topics: int = 1, partitions: int = 3) -> None:
        self.side = side
        self.groups = groups
        self.topics = [TOPIC] if topics == 1 else [f"{TOPIC}-{i}" for i in range(topics)]
        self.partitions = partitions
        self.producer: AIOKafkaProducer | None = None
        self.consumers: list[AIOKafkaConsumer] = []
        self.seen: list[list[bytes]] = []
        self.acks: list[float] = []
        self.produced = 0
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.side.bootstrap)
        await admin.start()
        try:
            await admin.create_topics(
                [NewTopic(t, num_partitions=self.partitions, replication_factor=1) for t in self.topics]
            )
        finally:
            await admin.close()
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.side.bootstrap, acks="all", enable_idempotence=True, linger_ms=0
        )
        await self.producer.start()
        for g in range(self.groups):
            consumer = AIOKafkaConsumer(
                *self.topics,
                bootstrap_servers=self.side.bootstrap,
                group_id=f"load-ab-{g}",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
                session_timeout_ms=EventConsumer.SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=EventConsumer.HEARTBEAT_INTERVAL_MS,
                metadata_max_age_ms=EventConsumer.METADATA_MAX_AGE_MS,
                fetch_max_wait_ms=EventConsumer.FETCH_MAX_WAIT_MS,
            )
            await consumer.start()
            self.consumers.append(consumer)
            self.seen.append([])
        for consumer in self.consumers:
            while not consumer.assignment():
                await asyncio.sleep(0.1)
        self.tasks = [asyncio.create_task(self.consume(i, c)) for i, c in enumerate(self.consumers)]

    async def consume(self, index: int, consumer: AIOKafkaConsumer) -> None:
        last_commit = time.monotonic()
        pending = False
        while True:
            batch = await consumer.getmany(timeout_ms=2000)
            for records in batch.values():
                for record in records:
                    pending = True
                    if len(self.seen[index]) < 500:
                        headers = b",".join(k.encode() + b"=" + v for k, v in record.headers)
                        self.seen[index].append(b"|".join([record.key, record.value, headers]))
            if pending and time.monotonic() - last_commit >= 2:
                await consumer.commit()
                last_commit, pending = time.monotonic(), False

    async def unit(self, key: bytes, n: int, topic: int = 0) -> None:
        assert self.producer is not None
        started = time.monotonic()
        name = self.topics[topic % len(self.topics)]
        futures = [
            await self.producer.send(name, VALUE, key=key, headers=[("ce_type", f"load.ab.{i}".encode())])
            for i in range(n)
        ]
        await asyncio.gather(*futures)
        self.acks.append(time.monotonic() - started)
        self.produced += n

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for client in [*self.consumers, self.producer]:
            with contextlib.suppress(Exception):
                await client.stop()  # type: ignore[union-attr]


async def drive(loads: list[Load], rate: float, seconds: float, rng: random.Random) -> None:
    """The same units of work to every side at once, ``rate`` records a second on average."""
    end = time.monotonic() + seconds
    pending: set[asyncio.Task[None]] = set()
    while time.monotonic() < end:
        n = rng.choice((1, 1, 2, 3))
        key = f"request-{rng.randrange(1000)}".encode()
        topic = rng.randrange(64)
        for load in loads:
            task = asyncio.create_task(load.unit(key, n, topic))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.sleep(rng.expovariate(rate / n * 1.0) if rate else 1)
    await asyncio.gather(*pending)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


async def run(args: argparse.Namespace) -> None:
    a = Side("A", args.a_ref, args.port_base, dict(e.split("=", 1) for e in args.a_env), args.tag)
    b = Side("B", args.b_ref, args.port_base + 20, dict(e.split("=", 1) for e in args.b_env), args.tag)
    sides = [b, a] if args.swap else [a, b]
    for side in sides:
        side.prepare()
    loads: list[Load] = []
    try:
        for side in sides:
            side.infra("start")
        loads = [
            Load(a, args.groups, topics=args.topics, partitions=args.a_partitions),
            Load(b, args.groups, topics=args.topics, partitions=args.b_partitions),
        ]
        for load in loads:
            await load.start()
        rng = random.Random(7)
        await drive(loads, 5, 3, rng)
        deadline = time.monotonic() + 30
        while any(len(seen) < load.produced for load in loads for seen in load.seen) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        answers = [[sorted(seen) for seen in load.seen] for load in loads]
        assert answers[0] == answers[1], "the sides answer differently"
        assert all(len(seen) == loads[0].produced for seen in answers[0]), "a group did not read every record"
        print(f"both answer alike ({len(answers[0])} groups read the same {loads[0].produced} records)", flush=True)
        print(f"warming up {args.warmup:.0f} s at {args.rate:g} records/s", flush=True)
        await drive(loads, args.rate, args.warmup, rng)
        pids = {s.name: s.pid() for s in (a, b)}
        totals = {"A": [0, 0.0], "B": [0, 0.0]}
        for window in range(args.windows):
            before = {n: sum(t[1] for t in threads(p).values()) for n, p in pids.items()}
            produced = {load.side.name: load.produced for load in loads}
            for load in loads:
                load.acks.clear()
            load0 = loadavg()
            t0 = time.monotonic()
            await drive(loads, args.rate, args.seconds, rng)
            await asyncio.sleep(1)
            wall = time.monotonic() - t0
            after = {n: sum(t[1] for t in threads(p).values()) for n, p in pids.items()}
            print(f"window {window + 1}: {wall:.0f} s, load {' '.join(load0)} -> {' '.join(loadavg())}")
            for load in loads:
                n = load.side.name
                records = load.produced - produced[n]
                ms = (after[n] - before[n]) * 1000 / TICK
                totals[n][0] += records
                totals[n][1] += ms
                print(
                    f"  {n}: {ms / records:6.3f} ms/record ({records} records, {ms / wall:6.1f} ms/s);"
                    f" unit acknowledged p50 {pct(load.acks, 0.5):5.1f} p99 {pct(load.acks, 0.99):6.1f}"
                    f" max {pct(load.acks, 1.0):6.1f} ms"
                )
            sys.stdout.flush()
        for n, (records, ms) in totals.items():
            print(f"{n}: {ms / max(records, 1):.3f} ms/record over all windows ({records} records)")
    finally:
        for load in loads:
            await load.stop()
        for side in sides:
            with contextlib.suppress(subprocess.CalledProcessError):
                side.infra("stop")
            if side.tmp is not None:
                side.tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a-ref", default="HEAD", help="commit of side A's deploy/, or 'worktree'")
    parser.add_argument("--b-ref", default="worktree", help="commit of side B's deploy/, or 'worktree'")
    parser.add_argument("--a-env", action="append", default=[], help="KEY=VALUE for side A's infra.sh")
    parser.add_argument("--b-env", action="append", default=[], help="KEY=VALUE for side B's infra.sh")
    parser.add_argument("--groups", type=int, default=2, help="consumer groups reading the topic (a flow: ~2 a record)")
    parser.add_argument("--topics", type=int, default=1, help="topics every group reads (notifications: 5)")
    parser.add_argument("--a-partitions", type=int, default=3, help="partitions of each of side A's topics")
    parser.add_argument("--b-partitions", type=int, default=3, help="partitions of each of side B's topics")
    parser.add_argument("--rate", type=float, default=30.0, help="records a second (2 flows/s: about 32)")
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--swap", action="store_true", help="start side B first")
    parser.add_argument("--port-base", type=int, default=int(os.environ.get("BACKOFFICE_PORT_BASE", "20000")) + 100)
    parser.add_argument("--tag", default="load", help="in the sides' profile names")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
