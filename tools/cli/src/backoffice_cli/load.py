"""`backoffice load`: N purchase orders driven from submit to closed at a fixed arrival rate (not a test).

Reports completed flows per second and p50/p99 of each hop, measured from the events' own times
in the request timeline (submitted -> task assigned, approved -> vendor notified, vendor accepted ->
contract generated, both signed -> executed).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from backoffice_cli.client import Cast, Endpoints, Platform
from backoffice_cli.flow import HOPS, FlowResult, walk


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def run_load(endpoints: Endpoints, jwt_secret: str, *, flows: int, rate: float) -> None:
    client = Platform(endpoints=endpoints, jwt_secret=jwt_secret, timeout=600, poll_interval=1.0)
    try:
        cast = Cast.new()
        await client.load_directory(cast)
        vendor = await client.create_vendor(cast)
        tasks: list[asyncio.Task[FlowResult]] = []
        started = time.perf_counter()
        for i in range(flows):
            tasks.append(asyncio.create_task(walk(client, cast, vendor)))
            await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
        results = await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    finally:
        await client.aclose()
    print(f"{flows} flows started at {rate:g}/s, all closed after {elapsed:.1f} s: {flows / elapsed:.2f} flows/s")
    hops: dict[str, list[float]] = {hop: [] for hop in HOPS}
    for result in results:
        for hop, seconds in result.hop_seconds().items():
            hops[hop].append(seconds * 1000)
    for hop, values in hops.items():
        if values:
            print(
                f"  {hop:<40} p50 {statistics.median(values):7.0f} ms   p99 {percentile(values, 0.99):7.0f} ms"
                f"   (n={len(values)})"
            )
