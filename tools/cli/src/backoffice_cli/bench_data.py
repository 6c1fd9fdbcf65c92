"""`backoffice bench-data`: grow the databases to N orders and measure what a user and the relays feel.

Against the services of `make run` (or of another profile, through deploy/env.sh): the first run
drives ``--seed-orders`` real orders from draft to closed through the APIs and leaves one more waiting
for its first approval, then keeps the rows they wrote as a template (``grow.capture``). Every run
copies the template by SQL until the databases hold ``--orders`` orders (``grow.grow``), then prints
p50/p99 of the main reads over HTTP, of the relay and inbox queries of every service, a whole order's
latency (new orders driven through the APIs on the grown data) and the bytes per order of every table.
``--out`` keeps the figures as JSON; ``--baseline`` prints them beside an earlier run's, e.g. 1k beside 200k.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg

from backoffice_cli import grow
from backoffice_cli.client import Cast, Endpoints, Platform, Vendor
from backoffice_cli.load import drive, percentile

Probe = Callable[[], Awaitable[object]]


@dataclass
class Figures:
    orders: int = 0
    reads_ms: dict[str, tuple[float, float]] = field(default_factory=dict)
    order_seconds: list[float] = field(default_factory=list)
    bytes_per_order: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "reads_ms": self.reads_ms,
            "order_seconds": self.order_seconds,
            "bytes_per_order": self.bytes_per_order,
        }


def dsn(database: str) -> str:
    base = os.environ.get("BACKOFFICE_PG_DSN_BASE", "postgresql://backoffice@127.0.0.1:5432")
    return f"{base}/{database}"


async def timed(probe: Probe, samples: int) -> tuple[float, float]:
    await probe()
    values = []
    for _ in range(samples):
        started = time.perf_counter()
        await probe()
        values.append((time.perf_counter() - started) * 1000)
    return statistics.median(values), percentile(values, 0.99)


async def seed(client: Platform, conns: dict[str, asyncpg.Connection], orders: int) -> tuple[Cast, Vendor]:
    """Real orders through the APIs, one left waiting for its first approval; then their rows become the template."""
    since = await grow.start_marker(conns["requests"])
    report = await drive(client, flows=orders, rate=0.5)
    if report.failed or report.cast is None or report.vendor is None:
        raise SystemExit(f"bench-data: the seed orders failed: {[f.reason for f in report.failed]}")
    waiting = await client.create_draft(report.cast, client.draft(report.vendor, report.cast))
    await client.submit(report.cast, str(waiting["id"]))
    await client.task_for(report.cast.manager, str(waiting["id"]))
    await quiet(conns)
    for name, conn in conns.items():
        kept = await grow.capture(conn, since_xid=since, orders=orders + 1)
        print(f"  template of {name}: {grow.pretty(sorted(kept.items()))}", flush=True)
    return report.cast, report.vendor


async def quiet(conns: dict[str, asyncpg.Connection], seconds: float = 5.0) -> None:
    """Until every outbox is sent and no inbox grew for ``seconds``: the orders' events have all landed."""
    last: list[int] = []
    while True:
        now = []
        for conn in conns.values():
            now.append(await conn.fetchval("SELECT count(*) FROM outbox_message WHERE sent_at IS NULL"))
            now.append(await conn.fetchval("SELECT count(*) FROM processed_event"))
        if now == last and not any(now[0::2]):
            return
        last = now
        await asyncio.sleep(seconds)


async def grow_all(conns: dict[str, asyncpg.Connection], *, orders: int, batch: int, spread: timedelta) -> None:
    """Every database to ``orders`` orders, side by side; each resumes from its own count of copies."""
    per_copy, _ = await grow.copies_done(conns["requests"])
    copies = max(0, -(-orders // per_copy) - 1)
    behind = [conn for conn in conns.values() if (await grow.copies_done(conn))[1] < copies]
    if not behind:
        return
    started = time.perf_counter()
    await asyncio.gather(*(grow.grow(conn, copies=copies, batch=batch, spread=spread) for conn in behind))
    print(f"  grown to {(copies + 1) * per_copy} orders in {time.perf_counter() - started:.0f} s", flush=True)


RELAY = (
    "SELECT id, topic, key, value, headers FROM outbox_message WHERE sent_at IS NULL"
    " AND (key IS NULL OR key <> ALL($2::text[])) AND id <> ALL($3::bigint[]) ORDER BY id LIMIT $1"
)
BACKLOG = "SELECT count(*), min(created_at) FROM outbox_message WHERE sent_at IS NULL"
INBOX_CLAIM = (
    "INSERT INTO processed_event (consumer, event_id, event_type) VALUES ($1, $2, 'bench')"
    " ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id"
)


def sql_probes(conns: dict[str, asyncpg.Connection], known: dict[str, list[tuple[str, str]]]) -> dict[str, Probe]:
    """The relay's fetch and backlog, and an inbox claim of an event already seen (rolled back), per service."""
    probes: dict[str, Probe] = {}
    for name, conn in conns.items():
        probes[f"sql {name}: relay fetch"] = partial(conn.fetch, RELAY, 100, [], [])
        probes[f"sql {name}: relay backlog"] = partial(conn.fetchrow, BACKLOG)
        if known[name]:

            async def claim(c: asyncpg.Connection = conn, seen: list[tuple[str, str]] = known[name]) -> None:
                consumer, event_id = random.choice(seen)
                async with c.transaction():
                    if await c.fetchval(INBOX_CLAIM, consumer, event_id) is not None:
                        raise SystemExit(f"bench-data: the inbox of {consumer} did not recognise {event_id}")

            probes[f"sql {name}: inbox claim (seen event)"] = claim
    return probes


async def http_probes(client: Platform, cast: Cast, conns: dict[str, asyncpg.Connection]) -> dict[str, Probe]:
    e = client.endpoints
    request_ids = [
        r[0]
        for r in await conns["requests"].fetch("SELECT id::text FROM purchase_request TABLESAMPLE SYSTEM (1) LIMIT 200")
    ]
    request_ids = request_ids or [
        r[0] for r in await conns["requests"].fetch("SELECT id::text FROM purchase_request LIMIT 50")
    ]
    task_ids = [
        r[0] for r in await conns["approvals"].fetch("SELECT id FROM approval_task ORDER BY random() LIMIT 200")
    ]
    nobody = Cast.new("nobody").requester

    def get(url: str, who: Any, *, ids: list[str] | None = None) -> Probe:
        async def probe() -> None:
            target = url.format(id=random.choice(ids)) if ids else url
            await client.call("GET", target, who)

        return probe

    return {
        "GET /requests (the requester's own list)": get(f"{e.requests}/requests", cast.requester),
        "GET /requests (the manager: the requests assigned to them)": get(f"{e.requests}/requests", cast.manager),
        "GET /requests (a user with no rows)": get(f"{e.requests}/requests", nobody),
        "GET /requests (procurement, everything)": get(f"{e.requests}/requests", cast.procurement),
        "GET /requests?q=<absent word>": get(f"{e.requests}/requests?q=zqxjv", cast.procurement),
        "GET /requests?q=<number prefix>": get(f"{e.requests}/requests?q=PR-", cast.procurement),
        "GET /requests/{id}": get(f"{e.requests}/requests/{{id}}", cast.procurement, ids=request_ids),
        "GET /requests/{id}/timeline": get(f"{e.requests}/requests/{{id}}/timeline", cast.procurement, ids=request_ids),
        "GET /tasks (the manager's open tasks)": get(f"{e.approvals}/tasks", cast.manager),
        "GET /tasks?state=decided (the manager)": get(f"{e.approvals}/tasks?state=decided", cast.manager),
        "GET /tasks/{id}": get(f"{e.approvals}/tasks/{{id}}", cast.admin, ids=task_ids),
        "GET /contracts?request_id=": get(
            f"{e.contracts}/contracts?request_id={{id}}", cast.procurement, ids=request_ids
        ),
        "GET /deliveries?request_id=": get(
            f"{e.notifications}/deliveries?request_id={{id}}", cast.admin, ids=request_ids
        ),
    }


async def seen_events(conns: dict[str, asyncpg.Connection]) -> dict[str, list[tuple[str, str]]]:
    return {
        name: [
            (r["consumer"], r["event_id"])
            for r in await conn.fetch("SELECT consumer, event_id FROM processed_event TABLESAMPLE SYSTEM (1) LIMIT 200")
            or await conn.fetch("SELECT consumer, event_id FROM processed_event LIMIT 50")
        ]
        for name, conn in conns.items()
    }


async def bytes_per_order(conns: dict[str, asyncpg.Connection], orders: int) -> dict[str, float]:
    """Heap, TOAST and indexes of every table of the public schemas, divided by the orders of that
    database (its template times its copies, which a stopped run may have left ahead of the others)."""
    sizes: dict[str, float] = {}
    for name, conn in conns.items():
        per_copy, copies = await grow.copies_done(conn)
        held = max(orders, (copies + 1) * per_copy)
        rows = await conn.fetch(
            "SELECT tablename, pg_total_relation_size(format('public.%I', tablename)) AS bytes"
            " FROM pg_tables WHERE schemaname = 'public'"
        )
        for r in rows:
            if r["bytes"] > 8192 * 4:
                sizes[f"{name}.{r['tablename']}"] = r["bytes"] / held
    return dict(sorted(sizes.items(), key=lambda kv: -kv[1]))


async def order_latency(client: Platform, flows: int) -> list[float]:
    """Whole orders driven through the APIs on the grown data: first to last timeline event, seconds."""
    report = await drive(client, flows=flows, rate=0.5)
    if report.failed:
        raise SystemExit(f"bench-data: orders failed on the grown data: {[f.reason for f in report.failed]}")
    spans = []
    for result in report.completed:
        times = sorted(datetime.fromisoformat(str(entry["occurred_at"])) for entry in result.timeline)
        spans.append((times[-1] - times[0]).total_seconds())
    return spans


async def stored_cast(conn: asyncpg.Connection) -> Cast | None:
    if not await conn.fetchval("SELECT to_regclass('bench.cast') IS NOT NULL"):
        return None
    return Cast.new(str(await conn.fetchval("SELECT tag FROM bench.cast")))


async def run(
    endpoints: Endpoints,
    jwt_secret: str,
    *,
    orders: int,
    seed_orders: int,
    samples: int,
    latency_orders: int,
    batch: int,
    spread: timedelta,
) -> Figures:
    client = Platform(endpoints=endpoints, jwt_secret=jwt_secret, timeout=600, poll_interval=0.5)
    conns = {name: await asyncpg.connect(dsn(name)) for name in grow.SERVICE_DATABASES}
    try:
        cast = await stored_cast(conns["requests"])
        if cast is None:
            print(f"bench-data: {seed_orders} real orders through the APIs, then one left waiting", flush=True)
            cast, _ = await seed(client, conns, seed_orders)
            tag = cast.requester.id.removeprefix("requester-")
            await conns["requests"].execute("CREATE TABLE bench.cast AS SELECT $1::text AS tag", tag)
        await grow_all(conns, orders=orders, batch=batch, spread=spread)
        figures = Figures(orders=int(await conns["requests"].fetchval("SELECT count(*) FROM purchase_request")))
        print(f"bench-data: {figures.orders} orders; {samples} samples per read", flush=True)
        probes = {**await http_probes(client, cast, conns), **sql_probes(conns, await seen_events(conns))}
        for name, probe in probes.items():
            figures.reads_ms[name] = await timed(probe, samples)
        figures.order_seconds = await order_latency(client, latency_orders)
        figures.bytes_per_order = await bytes_per_order(conns, figures.orders)
        return figures
    finally:
        for conn in conns.values():
            await conn.close()
        await client.aclose()


def lines(figures: Figures, baseline: dict[str, Any] | None) -> list[str]:
    """The figures as a Markdown table, beside the baseline's when there is one."""
    then = baseline or {}
    head = (
        f"| what | {then['orders']} orders | {figures.orders} orders |"
        if then
        else f"| what | {figures.orders} orders |"
    )
    out = [head, "|---|---|---|" if then else "|---|---|"]

    def row(name: str, now: str, before: str | None) -> None:
        out.append(f"| {name} | {before or '-'} | {now} |" if then else f"| {name} | {now} |")

    def ms(pair: Any) -> str:
        return f"{pair[0]:.1f} / {pair[1]:.1f} ms"

    for name, pair in figures.reads_ms.items():
        old = then.get("reads_ms", {}).get(name)
        row(f"{name} (p50 / p99)", ms(pair), ms(old) if old else None)

    def spans(values: list[float]) -> str:
        return f"{statistics.median(values):.1f} s (max {max(values):.1f} s, n={len(values)})" if values else "-"

    row("a whole order, draft to closed", spans(figures.order_seconds), spans(then.get("order_seconds", [])))
    total, total_then = sum(figures.bytes_per_order.values()), sum(then.get("bytes_per_order", {}).values())
    row("bytes per order, all tables", f"{total / 1024:.1f} KB", f"{total_then / 1024:.1f} KB" if then else None)
    for table, size in figures.bytes_per_order.items():
        old_size = then.get("bytes_per_order", {}).get(table)
        row(f"bytes per order: {table}", f"{size:,.0f}", f"{old_size:,.0f}" if old_size else None)
    return out


def report(figures: Figures, *, out: Path | None, baseline: Path | None) -> None:
    before = json.loads(baseline.read_text()) if baseline else None
    for line in lines(figures, before):
        print(line)
    if out:
        out.write_text(json.dumps(figures.as_json(), indent=1))
