"""A hop through the shared library, old against new, alternated in one run (not a test).

One hop is what ``make bench`` measures between two events of a request: the event's own time (set
when the command recorded it) -> its unit of work commits -> the outbox relay (LISTEN/NOTIFY) ->
Kafka (``acks=all``) -> the consumer of another service -> its handler. Here every variant has a
private database of the current profile's PostgreSQL, a three-partition topic of its Kafka, its
relay and its consumer (a group of its own) in this process; a writer commits units of work at
``--rate`` per second, each with one event of a key (30 keys), every second unit with two (as a
decision and the approval it completes), every tenth unit's event "slow" (its handler awaits 0.25 s,
as a contract's render in a thread). Reported per variant, from the event's time to its handler's
start: p50/p99 of all events, of the second events of two-event units, and of the events that are not
slow; the CPU of this process per event and the produce requests per event.

Variants, each one change more than the one before (``--old``: the commit whose ``outbox.py`` and
``consumer.py`` are the old ones, loaded from git):

    old        linger 5 ms, old relay, old consumer
    linger0    no linger
    batch      + the relay's rows of one key and topic as one record batch
    new        + the consumer's lanes (the poll loop polls again at once)

Every variant must handle every event once and each key's events in their order (checked first).

    source deploy/env.sh && .venv/bin/python services/common/bench/hop_latency.py --old 8657006
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

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import create_async_engine

from backoffice_common import consumer as consumer_mod
from backoffice_common import outbox
from backoffice_common.db import make_session_factory, new_metadata
from backoffice_common.events import CloudEvent
from backoffice_common.kafka import TopicSpec, dlq_topic, ensure_topics
from backoffice_common.messaging import messaging_tables
from backoffice_common.testing import private_database, unique_prefix
from backoffice_common.uow import UnitOfWork

ROOT = Path(__file__).resolve().parents[3]
KEYS = 30
SLOW_SECONDS = 0.25


def old_module(commit: str, name: str) -> Any:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:services/common/src/backoffice_common/{name}.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / f"old_{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"old_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[f"old_{name}"] = module
    spec.loader.exec_module(module)
    return module


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Variant:
    def __init__(self, name: str, linger_ms: int, relay_class: type[Any], consumer_class: type[Any]) -> None:
        self.name = name
        self.linger_ms = linger_ms
        self.relay_class = relay_class
        self.consumer_class = consumer_class
        self.written: list[tuple[str, str, int, str]] = []  # (event id, key, seq, kind)
        self.times: dict[str, float] = {}
        self.started: dict[str, float] = {}
        self.handled: list[tuple[str, int]] = []
        self.produce_requests = 0
        self.cpu: list[float] = []
        self.requests: list[float] = []

    def producer(self, bootstrap: str) -> AIOKafkaProducer:
        # make_producer's settings, with this variant's linger
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=f"bench-{self.name}",
            enable_idempotence=True,
            acks="all",
            linger_ms=self.linger_ms,
            request_timeout_ms=15000,
            retry_backoff_ms=200,
        )
        send = producer.client.send

        async def counting(node_id: int, request: Any, *args: Any, **kwargs: Any) -> Any:
            if type(request).__name__.startswith("ProduceRequest"):
                self.produce_requests += 1
            return await send(node_id, request, *args, **kwargs)

        producer.client.send = counting  # type: ignore[method-assign]
        return producer

    async def setup(self, stack: AsyncExitStack, bootstrap: str) -> None:
        url = await stack.enter_async_context(private_database())
        dsn = url.replace("+asyncpg", "")
        self.topic = f"{unique_prefix()}hop-bench"
        await ensure_topics(
            bootstrap, [TopicSpec(self.topic, 3, 1), TopicSpec(dlq_topic(self.topic), 1, 1)], client_id="bench"
        )
        tables = messaging_tables(new_metadata())
        engine = create_async_engine(url, pool_size=5)
        stack.push_async_callback(engine.dispose)
        async with engine.begin() as conn:
            await conn.run_sync(tables.outbox.create)
            await conn.run_sync(tables.inbox.create)
        factory = make_session_factory(engine)
        service = f"bench_{self.name}"
        self.uow = lambda: UnitOfWork(factory, tables=tables, service=service)
        relay = self.relay_class(
            dsn=dsn, service=service, producer_factory=lambda: self.producer(bootstrap), poll_interval=5.0
        )

        async def handle(event: CloudEvent, uow: UnitOfWork) -> None:
            self.started.setdefault(event.id, time.time())
            if event.data["kind"] == "slow":
                await asyncio.sleep(SLOW_SECONDS)
            self.handled.append((event.subject or "", int(event.data["seq"])))

        consumer = self.consumer_class(
            service=f"{service}_consumer",
            bootstrap_servers=bootstrap,
            group_id=f"{self.topic}-group",
            topics=[self.topic],
            handlers={"bench.done": handle},
            uow_factory=self.uow,
            producer_factory=lambda: self.producer(bootstrap),
        )
        for runner in (relay.run, consumer.run):
            task = asyncio.create_task(runner())
            stack.callback(task.cancel)

    async def write_unit(self, i: int) -> None:
        key = f"k{i % KEYS}"
        kinds = ["slow" if i % 10 == 5 else "plain"] + (["second"] if i % 2 == 0 else [])
        async with self.uow() as uow:
            for n, kind in enumerate(kinds):
                seq = i * 2 + n
                event = CloudEvent(
                    source="backoffice/bench", type="bench.done", subject=key, data={"seq": seq, "kind": kind}
                )
                uow.publish(event, topic=self.topic)
                self.written.append((event.id, key, seq, kind))
                self.times[event.id] = event.time.timestamp()
            await uow.commit()

    async def round(self, start: int, units: int, rate: float) -> None:
        requests0, cpu0, events0 = self.produce_requests, time.process_time(), len(self.written)
        next_at = time.perf_counter()
        for i in range(start, start + units):
            await self.write_unit(i)
            next_at += 1 / rate
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        deadline = time.monotonic() + 60
        while len(self.started) < len(self.written) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(SLOW_SECONDS + 0.1)
        events = len(self.written) - events0
        self.cpu.append((time.process_time() - cpu0) / events * 1000)
        self.requests.append((self.produce_requests - requests0) / events)

    def latencies(self, kinds: set[str], skip: int) -> list[float]:
        return [(self.started[i] - self.times[i]) * 1000 for i, _, _, kind in self.written[skip:] if kind in kinds]


async def run(old: str, units: int, rounds: int, rate: float) -> None:
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    old_outbox, old_consumer = old_module(old, "outbox"), old_module(old, "consumer")
    variants = [
        Variant("old", 5, old_outbox.OutboxRelay, old_consumer.EventConsumer),
        Variant("linger0", 0, old_outbox.OutboxRelay, old_consumer.EventConsumer),
        Variant("batch", 0, outbox.OutboxRelay, old_consumer.EventConsumer),
        Variant("new", 0, outbox.OutboxRelay, consumer_mod.EventConsumer),
    ]
    warm = 20
    async with AsyncExitStack() as stack:
        for v in variants:
            await v.setup(stack, bootstrap)
        await asyncio.sleep(8)  # groups joined, relays leading
        for v in variants:  # warm-up: producers, connections, statement caches
            await v.round(-warm, warm, rate)
            v.cpu.clear(), v.requests.clear()
        skip = {v.name: len(v.written) for v in variants}
        for r in range(rounds):
            for v in variants if r % 2 == 0 else list(reversed(variants)):
                await v.round(r * units, units, rate)
                print(f"  round {r} {v.name}: load {os.getloadavg()[0]:.2f}", flush=True)
        # the same answers: every event handled, each key's in the order written (the inbox absorbs repeats)
        for v in variants:
            assert set(v.started) == {i for i, _, _, _ in v.written}, v.name
            for key in {k for _, k, _, _ in v.written}:
                written = [s for _, k, s, _ in v.written if k == key]
                handled = [s for k, s in v.handled if k == key]
                assert sorted(set(handled)) == written, f"{v.name}: key {key} not handled once each"
                assert [s for s in handled if s in set(written)] == sorted(handled), f"{v.name}: {key} out of order"
    load = os.getloadavg()
    print(
        f"a hop through the library, {rounds} rounds x {units} units at {rate:g}/s alternated,"
        f" load {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}"
    )
    print("  variant    all p50/p99      second p50/p99   not slow p50/p99   CPU ms/event  produce req/event")
    for v in variants:
        every = v.latencies({"plain", "slow", "second"}, skip[v.name])
        second = v.latencies({"second"}, skip[v.name])
        fast = v.latencies({"plain", "second"}, skip[v.name])
        print(
            f"  {v.name:9s} {pct(every, 0.5):6.1f} {pct(every, 0.99):7.1f}"
            f"   {pct(second, 0.5):6.1f} {pct(second, 0.99):7.1f}"
            f"   {pct(fast, 0.5):6.1f} {pct(fast, 0.99):7.1f}      {statistics.median(v.cpu):6.2f}"
            f"        {statistics.median(v.requests):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, help="the commit whose outbox.py and consumer.py are the old ones")
    parser.add_argument("--units", type=int, default=40, help="units of work per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--rate", type=float, default=10.0, help="units of work per second")
    args = parser.parse_args()
    asyncio.run(run(args.old, args.units, args.rounds, args.rate))


if __name__ == "__main__":
    main()
