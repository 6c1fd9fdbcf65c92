"""Benchmark: purchase_request.submitted -> approval.task_assigned through the real service.

Runs the approvals app in-process against the shared PostgreSQL and Kafka (a private database
and a unique topic prefix), then

1. paced: publishes submitted events at a fixed rate and reports the latency from publishing the
   submitted event to seeing task_assigned on backoffice.approvals (p50/p95/p99/max);
2. burst: publishes a batch at once and reports how many submitted events per second the
   service handles (chain built, tasks assigned, outbox written and relayed).

    BACKOFFICE_PROFILE=test source deploy/env.sh
    .venv/bin/python services/approvals/bench/submitted_throughput.py --rate 20 --seconds 10 --burst 300

Not a test: numbers depend on the machine (report them with its load).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer

from backoffice_approvals.main import create_app
from backoffice_approvals.settings import Settings
from backoffice_common.auth import mint_token
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.kafka import TopicSpec, ensure_topics, make_producer
from backoffice_common.testing import app_client, private_database, unique_prefix

MIGRATIONS = Path(__file__).parents[1] / "src" / "backoffice_approvals" / "migrations"
SECRET = "bench-secret-" + "x" * 30


def submitted(request_id: str) -> CloudEvent:
    snap = {
        "request_id": request_id,
        "number": f"PR-{request_id[:6]}",
        "revision": 1,
        "title": "bench",
        "requester": {"id": "req", "name": "Req", "email": "req@example.com", "department": "ENG"},
        "department": "ENG",
        "cost_center": "CC-1",
        "category": "hardware",
        "vendor_id": "v",
        "currency": "EUR",
        "lines": [],
        "total": "1500.00",
        "needed_by": "2027-01-01",
    }
    return new_event(
        type="purchase_request.submitted",
        service="requests",
        subject=request_id,
        data={"schema_version": 1, "actor": {"id": "req", "name": "Req", "role": "requester"}, "request": snap},
    )


class Watcher:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.seen: dict[str, float] = {}
        self._consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None, metadata_max_age_ms=2000
        )
        self._bootstrap, self._topic = bootstrap, topic

    async def start(self) -> None:
        await ensure_topics(self._bootstrap, [TopicSpec(self._topic, 3, 1)], client_id="bench")
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for record in self._consumer:
            event = CloudEvent.from_json_bytes(record.value)
            if event.type == "approval.task_assigned" and event.subject not in self.seen:
                self.seen[event.subject or ""] = time.monotonic()

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def wait(self, ids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(i in self.seen for i in ids):
            await asyncio.sleep(0.05)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main(rate: float, seconds: float, burst: int) -> None:
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    prefix = unique_prefix()
    async with private_database(MIGRATIONS) as url:
        settings = Settings(
            database_url=url,
            kafka_bootstrap_servers=bootstrap,
            kafka_topic_prefix=prefix,
            jwt_secret=SECRET,
            outbox_poll_interval_seconds=1.0,
            log_level="WARNING",
            log_json=False,
        )
        app = create_app(settings)
        watcher = Watcher(bootstrap, prefix + "backoffice.approvals")
        await watcher.start()
        producer = make_producer(bootstrap, client_id="bench")
        await producer.start()
        try:
            async with app_client(app) as client:
                admin = {"Authorization": "Bearer " + mint_token(secret=SECRET, sub="root", roles=["admin"])}
                people = [{"id": "boss", "name": "Boss"}, {"id": "req", "name": "Req", "manager_id": "boss"}]
                r = await client.post("/directory/approvers/import", json={"approvers": people}, headers=admin)
                r.raise_for_status()
                topic = prefix + "backoffice.requests"
                warm = str(uuid.uuid4())
                await producer.send_and_wait(topic, submitted(warm).to_json_bytes(), key=warm.encode())
                await watcher.wait([warm], 60)

                sent: dict[str, float] = {}
                n = int(rate * seconds)
                start = time.monotonic()
                for i in range(n):
                    await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
                    rid = str(uuid.uuid4())
                    sent[rid] = time.monotonic()
                    await producer.send(topic, submitted(rid).to_json_bytes(), key=rid.encode())
                await watcher.wait(list(sent), 120)
                lat = [(watcher.seen[r] - t) * 1000 for r, t in sent.items() if r in watcher.seen]
                print(f"paced: {n} submitted at {rate}/s, {len(lat)} assigned")
                print(
                    f"  latency ms p50={pct(lat, 50):.0f} p95={pct(lat, 95):.0f} p99={pct(lat, 99):.0f} "
                    f"max={max(lat):.0f} mean={statistics.mean(lat):.0f}"
                )

                if burst <= 0:
                    return
                ids = [str(uuid.uuid4()) for _ in range(burst)]
                start = time.monotonic()
                for rid in ids:
                    await producer.send(topic, submitted(rid).to_json_bytes(), key=rid.encode())
                await producer.flush()
                await watcher.wait(ids, 300)
                done = [watcher.seen[r] for r in ids if r in watcher.seen]
                elapsed = max(done) - start
                print(f"burst: {len(done)}/{burst} submitted handled in {elapsed:.1f}s = {len(done) / elapsed:.1f}/s")
        finally:
            await producer.stop()
            await watcher.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.seconds, args.burst))
