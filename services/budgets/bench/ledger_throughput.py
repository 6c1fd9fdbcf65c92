"""Benchmark of the budgets service against a running instance (``deploy/services.sh start``).

Phase 1 (maximum): publish N ``purchase_request.submitted`` and N ``purchase_request.approved`` at once
(2 movements each: reserved, committed) and time until every ``budget.committed`` is on the topic:
ledger movements per second.
Phase 2 (fixed rate): publish submissions at ``--rate`` per second in an open loop and measure, per
request, the time from publishing ``submitted`` to reading its ``budget.checked``: p50 and p99.

    BACKOFFICE_PROFILE=test source deploy/env.sh
    .venv/bin/python services/budgets/bench/ledger_throughput.py --count 1000 --rate 50 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from backoffice_common.auth import mint_token
from backoffice_common.events import CloudEvent, new_event, structured_headers


def snapshot(rid: str, cc: str) -> dict[str, Any]:
    return {
        "request_id": rid, "revision": 1, "cost_center": cc, "currency": "EUR", "total": "10.00",
        "lines": [{"line_no": 1, "quantity": "1", "unit_price": "10.00", "amount": "10.00"}],
    }  # fmt: skip


def submitted(rid: str, cc: str) -> CloudEvent:
    data = {"schema_version": 1, "request": snapshot(rid, cc), "submitted_at": datetime.now(UTC).isoformat()}
    return new_event(type="purchase_request.submitted", service="requests", subject=rid, data=data)


def approved(rid: str, cc: str) -> CloudEvent:
    data = {"schema_version": 1, "request": snapshot(rid, cc), "chain_id": "c", "approvers": []}
    return new_event(type="purchase_request.approved", service="approvals", subject=rid, data=data)


class Watcher:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="latest", group_id=None)
        self.seen: dict[tuple[str, str], float] = {}
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        await self.consumer.seek_to_end()
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        async for record in self.consumer:
            event = CloudEvent.from_json_bytes(record.value)
            self.seen.setdefault((event.type, event.subject or ""), time.perf_counter())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
        await self.consumer.stop()


async def setup(base: str, secret: str) -> str:
    headers = {"Authorization": "Bearer " + mint_token(secret=secret, sub="bench", roles=["finance"])}
    cc = f"BENCH-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=base, headers=headers) as client:
        owner = {"id": "bench", "email": "bench@example.com"}
        r = await client.post("/cost-centres", json={"id": cc, "name": cc, "owner": owner, "department": "ENG"})
        r.raise_for_status()
        period = datetime.now(UTC).strftime("%Y-%m")
        body = {"cost_center": cc, "period": period, "currency": "EUR", "amount": "100000000.00"}
        (await client.post("/budgets", json=body)).raise_for_status()
    return cc


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    prefix = os.environ.get("BACKOFFICE_TOPIC_PREFIX", "")
    base = f"http://127.0.0.1:{os.environ['BACKOFFICE_BUDGETS_PORT']}"
    secret = os.environ.get("BACKOFFICE_DEV_JWT_SECRET", "development-only-jwt-secret-never-in-production")
    cc = await setup(base, secret)
    watcher = Watcher(bootstrap, prefix + "backoffice.budgets")
    await watcher.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()

    async def send(topic: str, event: CloudEvent) -> None:
        await producer.send(
            prefix + topic, event.to_json_bytes(), key=(event.subject or "").encode(), headers=structured_headers()
        )

    try:
        rids = [str(uuid.uuid4()) for _ in range(args.count)]
        start = time.perf_counter()
        for rid in rids:
            await send("backoffice.requests", submitted(rid, cc))
            await send("backoffice.approvals", approved(rid, cc))
        await producer.flush()
        while sum(1 for rid in rids if ("budget.committed", rid) in watcher.seen) < len(rids):
            await asyncio.sleep(0.05)
            if time.perf_counter() - start > 600:
                raise SystemExit("phase 1 did not finish within 600 s")
        elapsed = max(watcher.seen[("budget.committed", rid)] for rid in rids) - start
        print(f"phase 1: {args.count} requests, {2 * args.count} movements in {elapsed:.2f} s: "
              f"{2 * args.count / elapsed:.1f} movements/s")  # fmt: skip

        sent: dict[str, float] = {}
        interval = 1.0 / args.rate
        t0 = time.perf_counter()
        n = int(args.rate * args.seconds)
        for i in range(n):
            await asyncio.sleep(max(0.0, t0 + i * interval - time.perf_counter()))
            rid = str(uuid.uuid4())
            sent[rid] = time.perf_counter()
            await send("backoffice.requests", submitted(rid, cc))
        deadline = time.perf_counter() + 120
        while any(("budget.checked", rid) not in watcher.seen for rid in sent) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        latencies = sorted(
            (watcher.seen[("budget.checked", rid)] - t) * 1000
            for rid, t in sent.items()
            if ("budget.checked", rid) in watcher.seen
        )
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"phase 2: {len(latencies)}/{n} checked at {args.rate}/s: p50 {statistics.median(latencies):.1f} ms, "
              f"p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms")  # fmt: skip
    finally:
        await producer.stop()
        await watcher.stop()


if __name__ == "__main__":
    asyncio.run(main())
