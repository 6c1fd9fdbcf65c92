"""Two brokers side by side, idle, measured in the same windows: what a setting or a JVM flag saves (not a test).

Each side is a single KRaft broker started by a ``deploy/infra.sh`` (``start kafka``) on ports of its
own: side A from ``--a-ref`` (a commit, its ``deploy/`` taken with ``git archive``; ``worktree`` = this
checkout) and side B from ``--b-ref``, each with extra environment (``--a-env KEY=VALUE``, e.g.
``BACKOFFICE_KAFKA_JAVA_OPTS=-XX:...`` or ``BACKOFFICE_KAFKA_JAVA_HOME=/usr/lib/jvm/...``). Both get the
same idle clients, as the platform's consumers (``EventConsumer``'s group settings: heartbeat, session,
fetch long poll, metadata age; ``--groups`` of them, one topic each) and one idle producer.

First both must answer alike: a record produced to each is read back with the same key, value and
headers, and the groups' members get the same partitions. Then, after ``--warmup`` seconds, both are
measured in the same ``--windows`` windows of ``--seconds``: CPU (utime + stime from ``/proc``, ms per
second) and wake-ups (voluntary + involuntary context switches of all its threads, per second; a count,
so it holds under load where the 10-ms CPU ticks are coarse), with the load average, and the threads
whose wake-ups differ most. The sides are started in alternating order (``--swap`` to start B first).

    .venv/bin/python services/common/bench/kafka_idle_ab.py --a-ref HEAD --b-ref worktree --windows 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]

from backoffice_common.consumer import EventConsumer

ROOT = Path(__file__).resolve().parents[3]
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Side:
    name: str
    ref: str
    port_base: int
    env: dict[str, str]
    tag: str = ""
    root: Path = ROOT
    tmp: tempfile.TemporaryDirectory[str] | None = None
    clients: list[object] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port_base + 1}"

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
        env.update(
            BACKOFFICE_PROFILE=f"idle-{self.tag}{self.name.lower()}",
            BACKOFFICE_PORT_BASE=str(self.port_base),
            BACKOFFICE_KAFKA_LIBS=str(ROOT / ".state" / "kafka-libs"),
            BACKOFFICE_PYTHON=sys.executable,
        )
        env.update(self.env)
        return env

    def infra(self, action: str) -> None:
        subprocess.run(
            ["bash", str(self.root / "deploy" / "infra.sh"), action, "kafka"], env=self.environ(), check=True
        )

    def prepare(self) -> None:
        if self.ref != "worktree":
            self.tmp = tempfile.TemporaryDirectory(prefix=f"kafka-ab-{self.name}-")
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", self.ref, "deploy"], check=True, capture_output=True
            )
            subprocess.run(["tar", "-x", "-C", self.tmp.name], input=archive.stdout, check=True)
            self.root = Path(self.tmp.name)

    def pid(self) -> int:
        state = self.root / ".state" / f"idle-{self.tag}{self.name.lower()}" / "kafka" / "kafka.pid"
        return int(state.read_text().strip())


def loadavg() -> list[str]:
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def threads(pid: int) -> dict[int, tuple[str, int, int]]:
    """Per thread: name (digits folded), CPU time so far in ns (``schedstat``: the scheduler's own account,
    not 10-ms ticks, which at a thread's 0.1-1 ms/s are mostly zero or one), context switches so far."""
    out: dict[int, tuple[str, int, int]] = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, ValueError):
                stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                switches = 0
                for line in Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines():
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        switches += int(line.split()[1])
                name = re.sub(r"\d+", "#", stat[stat.index("(") + 1 : stat.rindex(")")])
                try:
                    cpu_ns = int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
                except OSError:  # a kernel without schedstats: the ticks
                    cpu_ns = (int(fields[11]) + int(fields[12])) * 1_000_000_000 // TICK
                out[int(tid)] = (name, cpu_ns, switches)
    return out


def by_name(before: dict[int, tuple[str, int, int]], after: dict[int, tuple[str, int, int]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for tid, (name, cpu, switches) in after.items():
        _, cpu0, switches0 = before.get(tid, (name, 0, 0))
        row = out.setdefault(name, [0, 0])
        row[0] += cpu - cpu0
        row[1] += switches - switches0
    return out


async def start_clients(side: Side, groups: int) -> tuple[bytes, list[list[int]]]:
    """The idle clients of one side; returns the record read back and each group's assignment."""
    topics = [f"idle-ab-{i}" for i in range(groups)]
    admin = AIOKafkaAdminClient(bootstrap_servers=side.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, num_partitions=3, replication_factor=1) for t in topics])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=side.bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    side.clients.append(producer)
    await producer.send_and_wait(topics[0], b"value", key=b"key", partition=0, headers=[("ce_type", b"idle.ab")])
    assignments: list[list[int]] = []
    seen = b""
    for topic in topics:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=side.bootstrap,
            group_id=f"{topic}-group",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=EventConsumer.SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=EventConsumer.HEARTBEAT_INTERVAL_MS,
            metadata_max_age_ms=EventConsumer.METADATA_MAX_AGE_MS,
            fetch_max_wait_ms=EventConsumer.FETCH_MAX_WAIT_MS,
            consumer_timeout_ms=EventConsumer.FETCHER_FALLBACK_MS,
        )
        await consumer.start()
        side.clients.append(consumer)
        if topic == topics[0]:
            batch = await consumer.getmany(timeout_ms=30000)
            while not batch:
                batch = await consumer.getmany(timeout_ms=30000)
            record = next(iter(batch.values()))[0]
            seen = b"|".join([record.key, record.value, *(k.encode() + b"=" + v for k, v in record.headers)])
        else:
            while not consumer.assignment():
                await asyncio.sleep(0.2)
        assignments.append(sorted(p.partition for p in consumer.assignment()))
    return seen, assignments


async def latencies(side: Side, n: int) -> tuple[list[float], list[float]]:
    """``n`` records produced (acks=all) every 0.5-1.5 s to a partition a reader long-polls (20 s):
    the seconds until the produce was acknowledged, and until the reader had the record."""
    from aiokafka import TopicPartition  # type: ignore[import-untyped]

    producer = side.clients[0]
    assert isinstance(producer, AIOKafkaProducer)
    reader = AIOKafkaConsumer(bootstrap_servers=side.bootstrap, fetch_max_wait_ms=EventConsumer.FETCH_MAX_WAIT_MS)
    await reader.start()
    partition = TopicPartition("idle-ab-1", 0)
    reader.assign([partition])
    await reader.seek_to_end(partition)
    acked, delivered = [], []
    try:
        for i in range(n):
            await asyncio.sleep(0.5 + (i % 3) * 0.5)
            started = time.monotonic()
            await producer.send_and_wait("idle-ab-1", f"{i}".encode(), partition=0)
            acked.append(time.monotonic() - started)
            record = await reader.getone()
            delivered.append(time.monotonic() - started)
            assert record.value == f"{i}".encode()
    finally:
        await reader.stop()
    return acked, delivered


async def idle_poll(consumer: AIOKafkaConsumer) -> None:
    while True:
        await consumer.getmany(timeout_ms=EventConsumer.POLL_TIMEOUT_MS)


async def run(args: argparse.Namespace) -> None:
    a = Side("A", args.a_ref, args.port_base, dict(e.split("=", 1) for e in args.a_env), args.tag)
    b_base = args.b_port_base or args.port_base + 20
    b = Side("B", args.b_ref, b_base, dict(e.split("=", 1) for e in args.b_env), args.tag)
    sides = [b, a] if args.swap else [a, b]
    for side in sides:
        side.prepare()
    try:
        for side in sides:
            side.infra("start")
        answers = [await start_clients(side, args.groups) for side in (a, b)]
        assert answers[0] == answers[1], f"the sides answer differently: {answers}"
        print(f"both answer alike: {answers[0][0]!r}, assignments {answers[0][1]}", flush=True)
        polls = [
            asyncio.create_task(idle_poll(c)) for s in (a, b) for c in s.clients if isinstance(c, AIOKafkaConsumer)
        ]
        print(f"warming up {args.warmup:.0f} s", flush=True)
        await asyncio.sleep(args.warmup)
        pids = {s.name: s.pid() for s in (a, b)}
        for window in range(args.windows):
            before = {n: threads(p) for n, p in pids.items()}
            load0 = loadavg()
            t0 = time.monotonic()
            await asyncio.sleep(args.seconds)
            wall = time.monotonic() - t0
            after = {n: threads(p) for n, p in pids.items()}
            load1 = loadavg()
            rows = {n: by_name(before[n], after[n]) for n in pids}
            print(f"window {window + 1}: {wall:.0f} s, load {' '.join(load0)} -> {' '.join(load1)}")
            for n in pids:
                cpu = sum(r[0] for r in rows[n].values()) / 1e6 / wall
                wakeups = sum(r[1] for r in rows[n].values()) / wall
                print(f"  {n}: {cpu:6.2f} ms/s  {wakeups:7.1f} wake-ups/s  {len(after[n])} threads")
            names = set(rows["A"]) | set(rows["B"])
            diffs = sorted(
                names,
                key=lambda t: -abs(rows["A"].get(t, [0, 0])[1] - rows["B"].get(t, [0, 0])[1]),
            )
            for t in diffs[: args.top]:
                ra, rb = rows["A"].get(t, [0, 0]), rows["B"].get(t, [0, 0])
                print(
                    f"    {t:<16} A {ra[0] / 1e6 / wall:5.2f} ms/s {ra[1] / wall:6.1f}/s"
                    f"   B {rb[0] / 1e6 / wall:5.2f} ms/s {rb[1] / wall:6.1f}/s"
                )
            sys.stdout.flush()
        if args.latency:
            results = await asyncio.gather(*(latencies(side, args.latency) for side in (a, b)))
            for side, (acked, delivered) in zip((a, b), results, strict=True):
                acked.sort()
                delivered.sort()
                print(
                    f"  {side.name}: {args.latency} records, acknowledged median {acked[len(acked) // 2] * 1000:.1f} ms"
                    f" max {acked[-1] * 1000:.1f} ms; read median {delivered[len(delivered) // 2] * 1000:.1f} ms"
                    f" p90 {delivered[len(delivered) * 9 // 10] * 1000:.1f} ms"
                    f" max {delivered[-1] * 1000:.1f} ms"
                )
        for task in polls:
            task.cancel()
        await asyncio.gather(*polls, return_exceptions=True)
        for s in (a, b):
            for client in s.clients:
                with contextlib.suppress(Exception):
                    await client.stop()  # type: ignore[attr-defined]
    finally:
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
    parser.add_argument("--groups", type=int, default=8, help="idle consumer groups per broker (the platform: 8)")
    parser.add_argument("--warmup", type=float, default=120.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--top", type=int, default=8, help="threads shown, by difference of wake-ups")
    parser.add_argument("--latency", type=int, default=0, help="then time this many records on each side")
    parser.add_argument("--swap", action="store_true", help="start side B first")
    parser.add_argument("--port-base", type=int, help="side A's port base (default: the run profile's + 100)")
    parser.add_argument("--b-port-base", type=int, help="side B's (default: side A's + 20)")
    parser.add_argument("--tag", default="", help="in the sides' profile names, for two runs at once")
    args = parser.parse_args()
    if args.port_base is None:
        if "BACKOFFICE_PORT_BASE" not in os.environ:
            parser.error("source deploy/env.sh first, or give --port-base")
        args.port_base = int(os.environ["BACKOFFICE_PORT_BASE"]) + 100
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
