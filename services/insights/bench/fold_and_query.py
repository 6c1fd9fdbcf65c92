"""Benchmark: events per second folded into the read model (a rebuild from the start), then API latency.

    BACKOFFICE_PROFILE=test bash -c 'source deploy/env.sh && \
        .venv/bin/python services/insights/bench/fold_and_query.py --orders 7000 --queries 200'

Publishes ``--orders`` whole orders (about 14 events each, spread over 60 days and 6 departments)
onto fresh topics, starts the insights service in-process on an empty database and times how long
it takes to fold every event; then calls each report ``--queries`` times and prints p50/p99.
``--per-event`` runs the consumer with one transaction per event (as before batch transactions),
for the comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from insights_testkit import BOB, DAVE, PROCUREMENT, T0, Insights, Order, full_order, running_insights
from sqlalchemy import text

from backoffice_common.events import CloudEvent, structured_headers
from backoffice_common.kafka import TopicSpec, ensure_topics, make_producer
from backoffice_common.testing import unique_prefix

URLS = [
    "/insights/cycle-times?group_by=department&period=month",
    "/insights/bottlenecks/stages",
    "/insights/bottlenecks/approvers",
    "/insights/bottlenecks/vendors",
    "/insights/sla/tasks?by=approver",
    "/insights/sla/open-requests",
    "/insights/spend?group_by=department",
]


def orders(count: int) -> list[Order]:
    result = []
    for i in range(count):
        order = Order(start=T0 + timedelta(minutes=12 * i), department=f"D{i % 6}", category=f"C{i % 4}")
        if i % 10 == 9:
            order.submit().assign(DAVE)  # still open
        else:
            full_order(order, approver=DAVE if i % 7 == 0 else BOB, approval=timedelta(hours=1 + i % 50))
        result.append(order)
    return result


async def publish(bootstrap: str, topic: str, events: list[CloudEvent]) -> None:
    """Pipelined sends (per-key order is kept by the idempotent producer), then one flush."""
    producer = make_producer(bootstrap, client_id="bench-publisher")
    await producer.start()
    try:
        for event in events:
            key = event.subject.encode() if event.subject else None
            await producer.send(topic, value=event.to_json_bytes(), key=key, headers=structured_headers())
        await producer.flush()
    finally:
        await producer.stop()


async def backends_cpu(service: Insights) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving the service's database (same machine;
    backends already closed, such as the pool's overflow connections, are not counted)."""
    async with service.app.state.engine.connect() as connection:
        rows = await connection.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
        pids = [r[0] for r in rows]
    return sum(process_cpu(pid) for pid in pids)


def process_cpu(pid: int) -> float:
    """utime + stime of a process, in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(count: int, queries: int) -> None:
    prefix = unique_prefix()
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    by_topic: dict[str, list[CloudEvent]] = {}
    for order in orders(count):
        for topic, event in order.events:
            by_topic.setdefault(topic, []).append(event)
    total = sum(len(v) for v in by_topic.values())
    await ensure_topics(bootstrap, [TopicSpec(prefix + t, 3, 1) for t in by_topic], client_id="bench")
    started = time.perf_counter()
    for topic, events in by_topic.items():
        await publish(bootstrap, prefix + topic, events)
    print(f"published {total} events of {count} orders in {time.perf_counter() - started:.1f} s", flush=True)
    async with running_insights(prefix) as service:
        started = time.perf_counter()
        cpu_started = time.process_time()
        consumed_after = None
        while service.handled() < total:
            if consumed_after is None and service.consumed() >= total:
                consumed_after = time.perf_counter() - started
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - started
        consumed = f"{consumed_after:.1f} s" if consumed_after is not None else "the same time"
        print(f"recorded {total} events as facts in {consumed}", flush=True)
        print(f"folded {total} events in {elapsed:.1f} s: {total / elapsed:.0f} events/s", flush=True)
        # CPU per event is what a loaded machine does not distort: the service's own process (this
        # one; publishing is done) and its PostgreSQL backends still connected (a lower bound).
        service_cpu = time.process_time() - cpu_started
        database_cpu = await backends_cpu(service)
        print(
            f"CPU per event: service {service_cpu / total * 1000:.2f} ms, "
            f"its database backends >= {database_cpu / total * 1000:.2f} ms",
            flush=True,
        )
        for url in URLS:
            timings = []
            for _ in range(queries):
                t = time.perf_counter()
                response = await service.client.get(url, headers=PROCUREMENT)
                timings.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200, response.text
            timings.sort()
            p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
            print(f"{url:60s} p50 {statistics.median(timings):7.1f} ms  p99 {p99:7.1f} ms", flush=True)


def per_event_transactions() -> None:
    """Make ``create_app`` build insights with one consumer transaction per event."""
    import backoffice_insights.main as insights_main

    build = insights_main.build_spec
    insights_main.build_spec = lambda settings: dataclasses.replace(build(settings), consume_in_batches=False)  # type: ignore[assignment]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--per-event", action="store_true", help="one consumer transaction per event (before)")
    args = parser.parse_args()
    if args.per_event:
        per_event_transactions()
    asyncio.run(main(args.orders, args.queries))
