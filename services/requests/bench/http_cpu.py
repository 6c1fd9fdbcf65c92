"""CPU of the HTTP stack around the requests service's routes, against the bare FastAPI + asyncpg read (not a test).

Against a private, migrated database of the current profile's PostgreSQL, in this process (no
uvicorn: its HTTP parsing is the same for every app), each app is called as an ASGI application
with the scope uvicorn would build:

- ``bare``: ``backoffice_cli.bare`` (the floor of ``make bench``): one asyncpg query, a dict answer;
- ``read``: ``GET /requests/{id}`` as procurement (the request, its revision, its timeline);
- ``write``: ``POST /requests`` with a new Idempotency-Key (a draft created, committed: claim,
  insert, outbox, timeline, the stored answer).

``--profile`` runs cProfile over ``--n`` calls of each and sums the functions' own time by group
(the groups of ``services/common/bench/profile_summary.py``). Otherwise the client CPU per call
(``time.process_time``; the PostgreSQL backend's share is the same whatever the HTTP stack) of the
app as this checkout builds it (``new``) and of the same app with the four middlewares the service
edge replaced (``old``, rebuilt from the earlier code kept in ``services/common/bench/
http_stack_before.py``; the routes and dependencies are this checkout's in both: ``http_servers.py``
compares whole commits) is measured,
alternated round by round, medians of ``--rounds``; both answer the same status, headers (but the
correlation id and the date) and body, which is checked before timing.

    source deploy/env.sh && .venv/bin/python services/requests/bench/http_cpu.py --n 300 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI
from sqlalchemy import insert

import backoffice_requests
from backoffice_cli.bare import make_app as make_bare_app
from backoffice_common.app import _open_database
from backoffice_common.auth import mint_token
from backoffice_common.testing import private_database
from backoffice_requests.main import build_spec, create_app
from backoffice_requests.models import vendor
from backoffice_requests.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "services" / "common" / "bench"))
from http_stack_before import old_stack
from profile_summary import GROUPS

MIGRATIONS = Path(backoffice_requests.__file__).parent / "migrations"
SECRET = "bench-http-secret-" + "x" * 30
VENDOR = "vendor-bench"


class Answer:
    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""


async def call(app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Answer:
    """One request through the ASGI app, with the scope uvicorn gives it."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    if body:
        raw.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), *raw],
        "state": {},
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    answer = Answer()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    await app(scope, receive, send)
    return answer


def comparable(answer: Answer) -> tuple[int, list[tuple[bytes, bytes]], Any]:
    headers = sorted((k, v) for k, v in answer.headers if k not in (b"x-correlation-id", b"date"))
    body = json.loads(answer.body) if answer.body else None
    if isinstance(body, dict):
        body.pop("correlation_id", None)
    return answer.status, headers, body


def draft_body() -> bytes:
    body = {
        "title": "Laptops for the new team",
        "description": "Two laptops and a dock",
        "vendor_id": VENDOR,
        "currency": "EUR",
        "cost_center": "CC-100",
        "department": "ENG",
        "category": "hardware",
        "needed_by": "2030-01-31",
        "lines": [
            {"description": "Laptop", "quantity": "2", "unit": "pcs", "unit_price": "1200.00", "sku": "LT-14"},
            {"description": "Dock", "quantity": "1", "unit": "pcs", "unit_price": "99.99"},
        ],
    }
    return json.dumps(body).encode()


def bearer(sub: str, *roles: str) -> dict[str, str]:
    token = mint_token(secret=SECRET, sub=sub, roles=list(roles), name=sub.title(), department="ENG")
    return {"authorization": f"Bearer {token}"}


@asynccontextmanager
async def requests_app(url: str, *, old: bool) -> AsyncIterator[FastAPI]:
    settings = Settings(
        database_url=url, jwt_secret=SECRET, environment="test", log_level="WARNING", require_known_cost_centre=False
    )
    app = create_app(settings)
    if old:
        old_stack(app, settings, build_spec(settings))
    engine = _open_database(app, build_spec(settings), settings)
    try:
        yield app
    finally:
        await engine.dispose()


Op = Callable[[], Awaitable[Answer]]


async def operations(stack: AsyncExitStack, url: str) -> dict[tuple[str, str], Op]:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE bench_floor (id int PRIMARY KEY, body text NOT NULL)")
    await conn.execute("INSERT INTO bench_floor VALUES (1, $1)", "x" * 1024)
    await conn.close()
    bare = make_bare_app(dsn)
    await stack.enter_async_context(bare.router.lifespan_context(bare))
    new = await stack.enter_async_context(requests_app(url, old=False))
    old = await stack.enter_async_context(requests_app(url, old=True))
    async with new.state.session_factory() as session, session.begin():
        await session.execute(
            insert(vendor).values(
                vendor_id=VENDOR, legal_name="Bench", status="active", record={}, record_updated_at="2026"
            )
        )
    requester, reader = bearer("requester-bench", "requester"), bearer("buyer-bench", "procurement")
    created = await call(new, "POST", "/requests", {**requester, "content-type": "application/json"}, draft_body())
    assert created.status == 201, created.body
    request_id = json.loads(created.body)["id"]
    body = draft_body()

    def reading(app: Any) -> Op:
        return lambda: call(app, "GET", f"/requests/{request_id}", reader)

    def writing(app: Any) -> Op:
        def one() -> Awaitable[Answer]:
            headers = {**requester, "content-type": "application/json", "idempotency-key": uuid.uuid4().hex}
            return call(app, "POST", "/requests", headers, body)

        return one

    return {
        ("bare", "-"): lambda: call(bare, "GET", "/rows/1", {}),
        ("read", "old"): reading(old),
        ("read", "new"): reading(new),
        ("write", "old"): writing(old),
        ("write", "new"): writing(new),
    }


async def same_answers(ops: dict[tuple[str, str], Op]) -> None:
    old, new = comparable(await ops["read", "old"]()), comparable(await ops["read", "new"]())
    assert old == new, f"the reads differ:\n{old}\n{new}"
    old_w, new_w = comparable(await ops["write", "old"]()), comparable(await ops["write", "new"]())
    for answer in (old_w, new_w):  # a new draft each time: its id, number, times and Location differ
        assert isinstance(answer[2], dict)
        for volatile in ("id", "number", "created_at", "updated_at"):
            answer[2].pop(volatile)
        answer[2]["waiting_on"].pop("since")
    strip = (b"location", b"content-length")
    assert old_w[0] == new_w[0] == 201
    assert [h for h in old_w[1] if h[0] not in strip] == [h for h in new_w[1] if h[0] not in strip]
    assert old_w[2] == new_w[2], f"the writes differ:\n{old_w}\n{new_w}"


def group_of(filename: str) -> str:
    for name, needles in GROUPS:
        if any(needle in filename for needle in needles):
            return str(name)
    if "backoffice_" in filename:
        return "own code (backoffice_*)"
    return "asyncio, other"


async def profile(ops: dict[tuple[str, str], Op], n: int) -> None:
    for key in [("bare", "-"), ("read", "new"), ("write", "new")]:
        op = ops[key]
        for _ in range(20):
            await op()
        profiler = cProfile.Profile(time.process_time)
        started = time.process_time()
        profiler.enable()
        for _ in range(n):
            await op()
        profiler.disable()
        used = (time.process_time() - started) / n * 1000
        stats = pstats.Stats(profiler)
        groups: Counter[str] = Counter()
        functions: Counter[str] = Counter()
        raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
        for (filename, line, name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
            groups[group_of(filename)] += tottime
            short = filename.split("site-packages/")[-1].split("/src/")[-1]
            functions[f"{short}:{line} {name}"] += tottime
        total = sum(groups.values())
        print(f"{key[0]} ({used:.2f} ms per call under cProfile; {total / n * 1000:.2f} ms of own time)")
        for name, seconds in groups.most_common():
            print(f"  {name:<40} {seconds / n * 1000:7.3f} ms  {100 * seconds / total:5.1f} %")
        print("  top functions (own time per call):")
        for name, seconds in functions.most_common(25):
            print(f"    {seconds / n * 1000:7.3f} ms  {name}")


async def measure(ops: dict[tuple[str, str], Op], n: int, rounds: int) -> None:
    for op in ops.values():
        for _ in range(20):
            await op()
    spent: dict[tuple[str, str], list[float]] = {key: [] for key in ops}
    for _ in range(rounds):
        for key, op in ops.items():
            started = time.process_time()
            for _ in range(n):
                await op()
            spent[key].append((time.process_time() - started) / n * 1000)
    bare = statistics.median(spent["bare", "-"])
    print(f"load average {os.getloadavg()[0]:.1f}; client CPU per call, median of {rounds} rounds of {n}")
    for key, values in spent.items():
        median = statistics.median(values)
        print(f"  {key[0]:<6}{key[1]:<4} {median:6.3f} ms   {median / bare:4.1f}x the bare read")
    for name in ("read", "write"):
        old, new = statistics.median(spent[name, "old"]), statistics.median(spent[name, "new"])
        print(f"  {name}: old -> new {old:.3f} -> {new:.3f} ms ({new / old:.2f})")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    async with private_database(MIGRATIONS) as url, AsyncExitStack() as stack:
        ops = await operations(stack, url)
        await same_answers(ops)
        print(f"load average {os.getloadavg()[0]:.1f}: the old and new stacks answer the same", flush=True)
        if args.profile:
            await profile(ops, args.n)
        else:
            await measure(ops, args.n, args.rounds)


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
