"""The platform's idle consumers, old ``EventConsumer`` against new, each on a broker of its own (not a test).

Two brokers side by side (as ``kafka_idle_ab.py``: both from this checkout's ``deploy/infra.sh``, on ports
of their own). Side A gets ``--groups`` consumers of the ``EventConsumer`` of ``--old-ref`` (its
``consumer.py`` loaded from git as a module of its own), side B the same number of this checkout's, with
the platform's defaults (20-s long poll, 5-s heartbeats, the watchdog every 10 s on a 30-s stall time),
each its own group on a topic of 3 partitions, as the seven services are. First both must answer alike:
a record of a type without a handler, sent to every topic, is taken by every consumer of both sides
(``handled``), and every watchdog measures a lag of 0. Then, after ``--warmup`` seconds, both brokers
are measured in the same ``--windows`` windows of ``--seconds``: CPU (utime + stime, ms per second),
wake-ups per second, and the requests by API (``KafkaRequestCounts.java`` over JMX), with the load
average. The clients of both sides run in this process, so their CPU is not told apart here.

    .venv/bin/python services/common/bench/consumer_idle_ab.py --old-ref HEAD~1 --windows 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kafka_idle_ab import ROOT, TICK, Side, loadavg, threads
from kafka_per_flow import RequestCounter, delta

from backoffice_common import consumer as new_consumer
from backoffice_common.events import new_event
from backoffice_common.kafka import make_producer

HERE = Path(__file__).resolve().parent


def old_consumer_module(ref: str) -> ModuleType:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{ref}:services/common/src/backoffice_common/consumer.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    tmp = Path(tempfile.mkdtemp(prefix="consumer-old-")) / "consumer_old.py"
    tmp.write_text(source)
    spec = importlib.util.spec_from_file_location("consumer_old", tmp)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["consumer_old"] = module
    spec.loader.exec_module(module)
    return module


def no_uow() -> Any:
    raise AssertionError("an idle consumer with no handler opens no unit of work")


async def start_side(side: Side, module: ModuleType, groups: int) -> list[Any]:
    topics = [f"idle-consumer-{i}" for i in range(groups)]
    admin = AIOKafkaAdminClient(bootstrap_servers=side.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, num_partitions=3, replication_factor=1) for t in topics])
    finally:
        await admin.close()
    consumers = [
        module.EventConsumer(
            service=f"idle{i}",
            bootstrap_servers=side.bootstrap,
            group_id=f"idle-consumer-{i}-group",
            topics=[topic],
            handlers={},
            uow_factory=no_uow,
            producer_factory=lambda: make_producer(side.bootstrap, client_id="idle-dlq"),
        )
        for i, topic in enumerate(topics)
    ]
    side.clients = [asyncio.create_task(c.run()) for c in consumers]
    producer = make_producer(side.bootstrap, client_id="idle-ab")
    await producer.start()
    try:
        for topic in topics:
            e = new_event(type="nobody.handles", service="ab", subject="k", data={})
            await producer.send_and_wait(topic, e.to_json_bytes(), key=b"k")
    finally:
        await producer.stop()
    return consumers


async def run(args: argparse.Namespace) -> None:
    old = old_consumer_module(args.old_ref)
    a = Side("A", "worktree", args.port_base, {}, args.tag)
    b = Side("B", "worktree", args.port_base + 20, {}, args.tag)
    sides = [a, b]
    try:
        for side in sides:
            side.infra("start")
        consumers = {"A": await start_side(a, old, args.groups), "B": await start_side(b, new_consumer, args.groups)}
        deadline = time.monotonic() + 120
        while not all(c.handled == 1 and c.health().lag == 0 for cs in consumers.values() for c in cs):
            assert time.monotonic() < deadline, {
                n: [(c.handled, c.health()) for c in cs] for n, cs in consumers.items()
            }
            await asyncio.sleep(0.5)
        print(f"both answer alike: {args.groups} consumers a side took their record, every lag 0", flush=True)
        with tempfile.TemporaryDirectory() as classes:
            # off the event loop (java starts slowly on a loaded machine): the consumers must keep heartbeating
            await asyncio.to_thread(
                subprocess.run, ["javac", "-d", classes, str(HERE / "KafkaRequestCounts.java")], check=True
            )
            pids = {s.name: s.pid() for s in sides}
            counters = {n: RequestCounter(p, classes) for n, p in pids.items()}
            for counter in counters.values():
                await asyncio.to_thread(counter.read)  # starts the JMX agent before any window
            print(f"warming up {args.warmup:.0f} s", flush=True)
            await asyncio.sleep(args.warmup)
            totals = {n: [0.0, 0.0, 0.0] for n in pids}
            for window in range(args.windows):
                requests0 = {n: await asyncio.to_thread(c.read) for n, c in counters.items()}
                before = {n: threads(p) for n, p in pids.items()}
                load0 = loadavg()
                t0 = time.monotonic()
                await asyncio.sleep(args.seconds)
                wall = time.monotonic() - t0
                after = {n: threads(p) for n, p in pids.items()}
                requests = {n: delta(await asyncio.to_thread(c.read), requests0[n]) for n, c in counters.items()}
                print(f"window {window + 1}: {wall:.0f} s, load {' '.join(load0)} -> {' '.join(loadavg())}")
                for n in pids:
                    cpu = sum(t[1] for t in after[n].values()) - sum(t[1] for t in before[n].values())
                    switches = sum(t[2] for t in after[n].values()) - sum(t[2] for t in before[n].values())
                    ms = cpu * 1000 / TICK
                    asked = {k: v for k, v in requests[n].items() if k != "FetchConsumer"}
                    totals[n][0] += ms
                    totals[n][1] += wall
                    totals[n][2] += sum(asked.values())
                    shown = "  ".join(f"{k} {v / wall:.2f}" for k, v in sorted(asked.items(), key=lambda kv: -kv[1]))
                    print(f"  {n}: {ms / wall:6.1f} ms/s {switches / wall:7.1f} wake-ups/s; requests/s: {shown}")
                sys.stdout.flush()
            for n, (ms, wall, asked) in totals.items():
                print(f"{n}: {ms / wall:.2f} ms/s, {asked / wall:.2f} requests/s over all windows")
    finally:
        for side in sides:
            for task in side.clients:
                task.cancel()  # type: ignore[attr-defined]
            await asyncio.gather(*side.clients, return_exceptions=True)  # type: ignore[arg-type]
        for side in sides:
            with contextlib.suppress(subprocess.CalledProcessError):
                side.infra("stop")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old-ref", default="HEAD~1", help="the commit whose consumer.py side A runs")
    parser.add_argument("--groups", type=int, default=7, help="idle consumers per side (the platform: 7)")
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--port-base", type=int, default=int(os.environ.get("BACKOFFICE_PORT_BASE", "20000")) + 110)
    parser.add_argument("--tag", default="consumer", help="in the sides' profile names")
    asyncio.run(run(parser.parse_args()))
