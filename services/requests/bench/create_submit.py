"""Benchmark: create + submit purchase requests over HTTP against a running requests service.

Not a test. Phase 1 measures the maximum rate (closed loop, N concurrent clients); phase 2 sends
create+submit pairs at a fixed rate well below it (open loop) and reports p50/p99 latency of a pair.

    python services/requests/bench/create_submit.py --base-url http://127.0.0.1:18185 \\
        --secret "$REQUESTS_JWT_SECRET" --bootstrap "$BACKOFFICE_KAFKA_BOOTSTRAP" --topic-prefix ""

The vendor named in the drafts is put on ``<prefix>backoffice.vendors`` first (as the notifications
service would), so that the service's vendor read model knows it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from backoffice_common.auth import mint_token
from backoffice_common.events import new_event
from backoffice_common.testing import publish_events


def draft(vendor_id: str) -> dict[str, Any]:
    return {
        "title": "Benchmark laptops",
        "description": "load test",
        "vendor_id": vendor_id,
        "currency": "EUR",
        "cost_center": "CC-1",
        "department": "ENG",
        "category": "hardware",
        "needed_by": (date.today() + timedelta(days=30)).isoformat(),
        "lines": [
            {"description": "Laptop", "quantity": "2", "unit": "pcs", "unit_price": "1200.00", "sku": "LT-14"},
            {"description": "Dock", "quantity": "1", "unit": "pcs", "unit_price": "99.99"},
        ],
    }


async def create_and_submit(client: httpx.AsyncClient, headers: dict[str, str], vendor_id: str) -> float:
    started = time.perf_counter()
    key = {"Idempotency-Key": uuid.uuid4().hex}
    r = await client.post("/requests", json=draft(vendor_id), headers={**headers, **key})
    r.raise_for_status()
    s = await client.post(
        f"/requests/{r.json()['id']}/submit", headers={**headers, "Idempotency-Key": uuid.uuid4().hex}
    )
    s.raise_for_status()
    return time.perf_counter() - started


async def seed_vendor(args: argparse.Namespace, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    record = {
        "schema_version": 1,
        "vendor_id": args.vendor,
        "legal_name": "Bench Vendor",
        "address": "1 Road",
        "contact_emails": ["bench@example.com"],
        "language": "en",
        "status": "active",
        "has_webhook": False,
        "updated_at": datetime.now(UTC).isoformat(),
    }
    event = new_event(type="vendor.updated", service="notifications", subject=args.vendor, data=record)
    await publish_events(args.bootstrap, f"{args.topic_prefix}backoffice.vendors", [event])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = await client.post("/requests", json=draft(args.vendor), headers=headers)
        if r.status_code == 201:
            return
        await asyncio.sleep(0.5)
    raise SystemExit(f"the service never accepted vendor {args.vendor}: {r.status_code} {r.text}")


async def max_rate(
    client: httpx.AsyncClient, headers: dict[str, str], vendor: str, seconds: float, workers: int
) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await create_and_submit(client, headers, vendor)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(workers)])
    return done / (time.perf_counter() - started)


async def fixed_rate(
    client: httpx.AsyncClient, headers: dict[str, str], vendor: str, rate: float, seconds: float
) -> list[float]:
    latencies: list[float] = []
    tasks: list[asyncio.Task[None]] = []

    async def one() -> None:
        latencies.append(await create_and_submit(client, headers, vendor))

    started = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    port = os.environ.get("BACKOFFICE_REQUESTS_PORT", "8001")
    parser.add_argument("--base-url", default=f"http://127.0.0.1:{port}")
    parser.add_argument(
        "--secret", default=os.environ.get("REQUESTS_JWT_SECRET", "development-only-jwt-secret-never-in-production")
    )
    parser.add_argument("--bootstrap", default=os.environ.get("BACKOFFICE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--topic-prefix", default=os.environ.get("REQUESTS_KAFKA_TOPIC_PREFIX", ""))
    parser.add_argument("--vendor", default="vendor-bench")
    parser.add_argument("--workers", type=int, default=8, help="concurrent clients while measuring the maximum")
    parser.add_argument("--max-seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=0, help="fixed rate in pairs/s (default: a third of the maximum)")
    parser.add_argument("--rate-seconds", type=float, default=15)
    args = parser.parse_args()

    token = mint_token(secret=args.secret, sub=f"bench-{uuid.uuid4().hex[:6]}", roles=["requester"])
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=args.base_url, timeout=30, limits=limits) as client:
        await seed_vendor(args, client, headers)
        await max_rate(client, headers, args.vendor, 2, args.workers)  # warm-up
        maximum = await max_rate(client, headers, args.vendor, args.max_seconds, args.workers)
        print(f"maximum: {maximum:.1f} create+submit per second ({args.workers} concurrent clients)")
        rate = args.rate or max(1.0, round(maximum / 3, 1))
        latencies = await fixed_rate(client, headers, args.vendor, rate, args.rate_seconds)
        ms = [x * 1000 for x in latencies]
        print(
            f"at {rate:.1f}/s for {args.rate_seconds:.0f}s ({len(ms)} pairs): "
            f"p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
            f"mean {statistics.fmean(ms):.1f} ms, max {max(ms):.1f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
