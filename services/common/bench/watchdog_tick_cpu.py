"""One look of the consumer's watchdog at its lag, old ``EventConsumer`` against new, alternated (not a test).

Against a running broker (``BACKOFFICE_KAFKA_BOOTSTRAP``, e.g. the test profile's after ``make infra-up``,
nothing else on it). Two consumers of a topic of 3 partitions, each its own group: one of the
``EventConsumer`` of ``--old-ref`` (its ``consumer.py`` loaded from git), one of this checkout's, both
running (subscribed, long-polling, records handled as ignored). First both must measure the same lag:
0 at rest, then the same figure while their partitions are paused with records waiting. Then, at rest
again, rounds alternate old and new: ``--calls`` calls of ``_committed_lag`` (what the watchdog does
every 10 s), this process's CPU per call (``time.process_time``) and the broker's (utime + stime of its
process from ``/proc``, ``--broker-pid``), medians over ``--rounds``, with the load average.

    source deploy/env.sh && .venv/bin/python services/common/bench/watchdog_tick_cpu.py \\
        --broker-pid $(cat .state/test/kafka/kafka.pid)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from consumer_idle_ab import no_uow, old_consumer_module
from kafka_idle_ab import TICK, loadavg

from backoffice_common import consumer as new_consumer
from backoffice_common.events import new_event
from backoffice_common.kafka import make_producer


def broker_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


async def send(bootstrap: str, topic: str, n: int) -> None:
    producer = make_producer(bootstrap, client_id="watchdog-tick")
    await producer.start()
    try:
        for i in range(n):
            e = new_event(type="nobody.handles", service="bench", subject=f"k{i}", data={})
            await producer.send_and_wait(topic, e.to_json_bytes(), key=f"k{i}".encode())
    finally:
        await producer.stop()


async def until(check: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def run(args: argparse.Namespace) -> None:
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    topic = f"watchdog-tick-{int(time.time())}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    sides = {}
    for name, module in (("old", old_consumer_module(args.old_ref)), ("new", new_consumer)):
        sides[name] = module.EventConsumer(
            service=f"tick-{name}",
            bootstrap_servers=bootstrap,
            group_id=f"{topic}-{name}",
            topics=[topic],
            handlers={},
            uow_factory=no_uow,
            producer_factory=lambda: make_producer(bootstrap, client_id="tick-dlq"),
            stall_seconds=120.0,  # no restart while the bench pauses partitions (answers fresh for 25 s)
        )
    tasks = [asyncio.create_task(c.run()) for c in sides.values()]
    try:
        await send(bootstrap, topic, 6)
        await until(lambda: all(c.handled == 6 for c in sides.values()))
        await asyncio.sleep(2)  # the handled offsets committed, the next fetches held

        async def lags() -> dict[str, int]:
            return {n: await c._committed_lag(c._consumer) for n, c in sides.items()}

        at_rest = await lags()
        assert set(at_rest.values()) == {0}, at_rest
        for c in sides.values():
            c._consumer.pause(*c._consumer.assignment())
        await asyncio.sleep(1)
        await send(bootstrap, topic, 4)
        await asyncio.sleep(args.stale)  # the paused partitions' answers grow old: the new one asks too
        waiting = await lags()
        assert waiting == {"old": 4, "new": 4}, waiting
        for c in sides.values():
            c._consumer.resume(*c._consumer.assignment())
        await until(lambda: all(c.handled == 10 for c in sides.values()))
        await asyncio.sleep(2)
        assert set((await lags()).values()) == {0}
        print(f"both measure alike: 0 at rest, {waiting} with 4 records waiting", flush=True)

        results: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
        for r in range(args.rounds):
            for name in ("old", "new") if r % 2 == 0 else ("new", "old"):
                c = sides[name]
                b0, p0 = broker_ticks(args.broker_pid), time.process_time()
                for _ in range(args.calls):
                    assert await c._committed_lag(c._consumer) == 0
                p1, b1 = time.process_time(), broker_ticks(args.broker_pid)
                results[name].append(((p1 - p0) / args.calls * 1e6, (b1 - b0) * 1e6 / TICK / args.calls))
            print(
                f"round {r + 1} (load {' '.join(loadavg())}): "
                + "  ".join(f"{n} client {v[-1][0]:7.1f} µs broker {v[-1][1]:7.1f} µs" for n, v in results.items()),
                flush=True,
            )
        for name, values in results.items():
            print(
                f"{name}: a look costs this process {statistics.median(v[0] for v in values):.1f} µs,"
                f" the broker {statistics.median(v[1] for v in values):.1f} µs (medians of {args.rounds} rounds)"
            )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old-ref", default="HEAD~1")
    parser.add_argument("--broker-pid", type=int, required=True)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--stale", type=float, default=27.0, help="seconds for paused partitions' answers to age")
    asyncio.run(run(parser.parse_args()))
