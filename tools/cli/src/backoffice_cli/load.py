"""`backoffice load`: N purchase orders driven from submit to closed at a fixed arrival rate (not a test).

Each flow runs on its own: one that fails is recorded with its reason and the others go on. The
client retries what a client should (connection errors, 502/503/504 with backoff, see
``Platform.call``). At the end it prints how many flows completed and failed (and why), what was
retried, and p50/p99 of each hop of the completed flows, measured from the events' own times in the
request timeline (submitted -> task assigned, approved -> vendor notified, vendor accepted ->
contract generated, both signed -> executed, and executed -> the request shows it: the contract.executed
entry's ``recorded_at`` against its ``occurred_at``).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from backoffice_cli.client import Cast, Endpoints, Platform, Vendor
from backoffice_cli.flow import ALL_HOPS, FlowResult, walk

INSTANCE_PORT_STEP = int(os.environ.get("BACKOFFICE_INSTANCE_PORT_STEP", "10"))
"""How far apart the instances of one service listen (deploy/env.sh)."""

Flow = Callable[[Platform, Cast, Vendor], Awaitable[FlowResult]]


@dataclass
class FlowFailure:
    index: int
    reason: str


@dataclass
class LoadReport:
    flows: int
    rate: float
    elapsed: float = 0.0
    completed: list[FlowResult] = field(default_factory=list)
    failed: list[FlowFailure] = field(default_factory=list)
    retries: Counter[str] = field(default_factory=Counter)
    cast: Cast | None = None
    vendor: Vendor | None = None
    casts: list[Cast] = field(default_factory=list)

    def hop_percentiles(self) -> dict[str, tuple[float, float, int]]:
        """Per hop: p50 and p99 in milliseconds, and the number of completed flows measured."""
        hops: dict[str, list[float]] = {hop: [] for hop in ALL_HOPS}
        for result in self.completed:
            for hop, seconds in result.hop_seconds().items():
                hops[hop].append(seconds * 1000)
        return {
            hop: (statistics.median(values), percentile(values, 0.99), len(values))
            for hop, values in hops.items()
            if values
        }

    def lines(self) -> list[str]:
        out = [
            f"{self.flows} flows started at {self.rate:g}/s: {len(self.completed)} completed, "
            f"{len(self.failed)} failed, in {self.elapsed:.1f} s ({len(self.completed) / max(self.elapsed, 1e-9):.2f} "
            "completed flows/s)"
        ]
        if self.retries:
            out.append("  retried: " + ", ".join(f"{n} x {what}" for what, n in self.retries.most_common()))
        if self.failed:
            out.append("  failed:")
            reasons = Counter(failure.reason for failure in self.failed)
            out += [f"    {n} x {reason}" for reason, n in reasons.most_common()]
        if self.completed:
            out.append("  hop latencies of the completed flows:")
            for hop, (p50, p99, n) in self.hop_percentiles().items():
                out.append(f"    {hop:<40} p50 {p50:7.0f} ms   p99 {p99:7.0f} ms   (n={n})")
        return out


def mirrors_of(endpoints: Endpoints, instances: int) -> dict[str, tuple[str, ...]]:
    """The other instances of each service as `deploy/services.sh` starts them (port + 10 per instance)."""
    mirrors: dict[str, tuple[str, ...]] = {}
    for url in (endpoints.requests, endpoints.approvals, endpoints.notifications, endpoints.contracts):
        base, port = url.rsplit(":", 1)
        mirrors[url] = tuple(f"{base}:{int(port) + INSTANCE_PORT_STEP * n}" for n in range(1, instances))
    return mirrors


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def reason_of(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:240]}" if text else type(exc).__name__


async def drive(
    client: Platform,
    *,
    flows: int,
    rate: float,
    flow: Flow = walk,
    until: asyncio.Event | None = None,
    cast_per_flow: bool = False,
) -> LoadReport:
    """Start ``flows`` flows at ``rate`` per second against a client, each on its own; wait for all.

    With ``until``, flows keep starting at the same rate after the first ``flows`` until it is set.
    With ``cast_per_flow``, every flow has people of its own (a requester, approvers... of its own
    department), as orders from many departments; otherwise the same people place every order.
    """
    report = LoadReport(flows, rate)
    report.cast = cast = Cast.new()
    report.casts.append(cast)
    await client.load_directory(cast)
    report.vendor = vendor = await client.create_vendor(cast)

    async def one(index: int) -> None:
        try:
            people = cast
            if cast_per_flow and index > 0:
                people = Cast.new()
                report.casts.append(people)
                await client.load_directory(people)
            report.completed.append(await flow(client, people, vendor))
        except Exception as exc:  # whatever ends one flow must not end the others
            report.failed.append(FlowFailure(index, reason_of(exc)))

    tasks: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    i = 0
    while i < flows or (until is not None and not until.is_set()):
        tasks.append(asyncio.create_task(one(i)))
        i += 1
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
    report.flows = i
    await asyncio.gather(*tasks)
    report.elapsed = time.perf_counter() - started
    report.retries = Counter(client.retries)
    return report


async def run_load(
    endpoints: Endpoints,
    jwt_secret: str,
    *,
    flows: int,
    rate: float,
    mirrors: dict[str, tuple[str, ...]] | None = None,
    flow: Flow = walk,
) -> LoadReport:
    client = Platform(endpoints=endpoints, jwt_secret=jwt_secret, timeout=600, poll_interval=1.0)
    client.mirrors = dict(mirrors or {})
    try:
        report = await drive(client, flows=flows, rate=rate, flow=flow)
    finally:
        await client.aclose()
    for line in report.lines():
        print(line, flush=True)
    return report
