"""What the platform's HTTP stack costs around a route: the bare FastAPI + asyncpg read against the same route
under ``create_service_app``, old stack against new (not a test).

In this process (no uvicorn: its parsing is the same for every app), against a private database of the current
profile's PostgreSQL, each app is called as an ASGI application with the scope uvicorn builds
(``services/requests/bench/http_cpu.py``'s ``call``):

- ``bare``: ``backoffice_cli.bare`` (the floor of ``make bench``): FastAPI, one asyncpg query, a dict answer;
- ``old``/``new``: the same route (``GET /rows/{row_id}``: the same query, the same answer) on a service app
  built by ``create_service_app`` (the service edge, the body limit, the problem handlers, FastAPI's and
  Starlette's layers), on a ``ReadConnection`` as the services' reads; ``old`` with the stack of commit
  ``--old`` (the modules of ``STACK_MODULES`` exported with ``git show`` and imported under other names: the
  app is built by the old ``create_service_app``), ``new`` with this checkout's;
- ``old404``/``new404``: a path no route matches (the problem answer of every service);
- the requests service's ``GET /requests/{id}`` (its fast path) is ``services/requests/bench/http_cpu.py``'s.

First both stacks must answer the same (status, raw headers in order but the correlation id, body) for the
route, a 404, a refused ``/metrics``, a NUL in the path and a correlation id given by the client; then client
CPU per call (``time.process_time``), old and new alternated round by round, medians of ``--rounds``.
``--profile`` prints cProfile's own time by function for ``new``.

    source deploy/env.sh && .venv/bin/python services/common/bench/http_stack_cpu.py --old HEAD --n 500 --rounds 7
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import os
import pstats
import statistics
import subprocess
import sys
import time
import types
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import APIRouter, FastAPI, HTTPException

from backoffice_cli.bare import make_app as make_bare_app
from backoffice_common.deps import ReadConnection
from backoffice_common.testing import private_database

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "services" / "requests" / "bench"))
from http_cpu import Answer, call  # noqa: E402

STACK_MODULES = ("limits", "edge", "app")
"""The shared HTTP stack's modules that ``old`` takes from the old commit, each after those it imports (the rest,
the problem handlers and their exception classes included, is this checkout's for both)."""


def old_package(ref: str) -> types.ModuleType:
    """``backoffice_common`` as of ``ref`` for the modules of ``STACK_MODULES``: a package ``old_common``
    whose other modules are this checkout's (so the old ``app`` builds an app of the old stack)."""
    import backoffice_common

    package = types.ModuleType("old_common")
    package.__path__ = list(backoffice_common.__path__)
    sys.modules["old_common"] = package
    for name in STACK_MODULES:
        source = subprocess.run(
            ["git", "show", f"{ref}:services/common/src/backoffice_common/{name}.py"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        # the old stack's modules import one another under the old package, everything else as it is
        for other in STACK_MODULES:
            source = source.replace(f"backoffice_common.{other} import", f"old_common.{other} import")
            source = source.replace(f"from backoffice_common import {other}\n", f"from old_common import {other}\n")
        spec = importlib.util.spec_from_loader(f"old_common.{name}", loader=None)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"old_common.{name}"] = module
        module.__file__ = f"<{ref}>/backoffice_common/{name}.py"
        exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102
        setattr(package, name, module)
    return package


def service_app(dsn: str, app_module: Any) -> FastAPI:
    from backoffice_common.db import new_metadata
    from backoffice_common.messaging import messaging_tables
    from backoffice_common.settings import ServiceSettings

    router = APIRouter()

    @router.get("/rows/{row_id}")
    async def read(row_id: int, conn: ReadConnection) -> dict[str, Any]:
        row = await conn.fetchrow("SELECT id, body FROM bench_floor WHERE id = $1", row_id)
        if row is None:
            raise HTTPException(404)
        return {"id": row["id"], "body": row["body"]}

    spec = app_module.ServiceSpec(
        name="bench",
        title="Bench",
        description="Bench",
        version="0",
        tables=messaging_tables(new_metadata()),
        routers=[router],
    )
    settings = ServiceSettings(
        database_url=dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
        jwt_secret="s" * 40,
        log_level="WARNING",
        metrics_allow_from=[ip_network("10.0.0.0/8")],
    )
    app: FastAPI = app_module.create_service_app(spec, settings)
    app_module._open_database(app, spec, settings)
    return app


Op = Callable[[], Awaitable[Answer]]


async def operations(stack: AsyncExitStack, dsn: str, old_ref: str) -> tuple[dict[str, Op], dict[str, FastAPI]]:
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE bench_floor (id int PRIMARY KEY, body text NOT NULL)")
    await conn.execute("INSERT INTO bench_floor VALUES (1, $1)", "x" * 1024)
    await conn.close()
    bare = make_bare_app(dsn)
    await stack.enter_async_context(bare.router.lifespan_context(bare))
    import backoffice_common.app as new_app

    old = old_package(old_ref)
    apps = {"old": service_app(dsn, old.app), "new": service_app(dsn, new_app)}
    for app in apps.values():
        stack.push_async_callback(app.state.engine.dispose)
    ops: dict[str, Op] = {"bare": lambda: call(bare, "GET", "/rows/1", {})}
    for name, app in apps.items():
        ops[name] = lambda app=app: call(app, "GET", "/rows/1", {})  # type: ignore[misc]
        ops[f"{name}404"] = lambda app=app: call(app, "GET", "/nowhere", {})  # type: ignore[misc]
    return ops, apps


def comparable(answer: Answer) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers = [(k, v) for k, v in answer.headers if k not in (b"x-correlation-id", b"date")]
    body = answer.body
    if b'"correlation_id"' in body:
        import json

        value = json.loads(body)
        value.pop("correlation_id")
        body = json.dumps(value).encode()
    return answer.status, headers, body


async def same_answers(apps: dict[str, FastAPI]) -> None:
    cases: list[tuple[str, dict[str, str]]] = [
        ("/rows/1", {}),
        ("/rows/2", {}),
        ("/rows/x", {}),
        ("/nowhere", {}),
        ("/metrics", {}),
        ("/rows/%00", {}),
        ("/rows/1", {"x-correlation-id": "given-1"}),
        ("/rows/1", {"x-correlation-id": "bad id"}),
        ("/healthz", {}),
    ]
    for app in apps.values():
        answer = await call(app, "GET", "/rows/1", {})
        assert answer.status == 200, answer.body[:200]
        assert answer.body == b'{"id":1,"body":"' + b"x" * 1024 + b'"}', answer.body[:200]
    for path, headers in cases:
        old, new = await call(apps["old"], "GET", path, headers), await call(apps["new"], "GET", path, headers)
        assert comparable(old) == comparable(new), f"{path}: the stacks differ:\n{comparable(old)}\n{comparable(new)}"
        if "x-correlation-id" in headers:
            given = headers["x-correlation-id"].encode()
            for answer in (old, new):
                echoed = dict(answer.headers)[b"x-correlation-id"]
                assert (echoed == given) == (given == b"given-1"), echoed


async def profile(op: Op, n: int) -> None:
    for _ in range(50):
        await op()
    profiler = cProfile.Profile(time.process_time)
    started = time.process_time()
    profiler.enable()
    for _ in range(n):
        await op()
    profiler.disable()
    used = (time.process_time() - started) / n * 1000
    stats = pstats.Stats(profiler)
    functions: Counter[str] = Counter()
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, line, name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        short = filename.split("site-packages/")[-1].split("/src/")[-1]
        functions[f"{short}:{line} {name}"] += tottime
    total = sum(functions.values())
    print(f"{used:.3f} ms per call under cProfile; {total / n * 1000:.3f} ms of own time")
    for name, seconds in functions.most_common(40):
        print(f"  {seconds / n * 1000:7.4f} ms  {100 * seconds / total:5.1f} %  {name}")


async def measure(ops: dict[str, Op], n: int, rounds: int) -> None:
    for op in ops.values():
        for _ in range(50):
            await op()
    spent: dict[str, list[float]] = {key: [] for key in ops}
    loads = [os.getloadavg()[0]]
    for _ in range(rounds):
        for key, op in ops.items():
            started = time.process_time()
            for _ in range(n):
                await op()
            spent[key].append((time.process_time() - started) / n * 1000)
        loads.append(os.getloadavg()[0])
    bare = statistics.median(spent["bare"])
    print(f"load average {min(loads):.1f}-{max(loads):.1f}; client CPU per call, median of {rounds} rounds of {n}")
    for key, values in spent.items():
        median = statistics.median(values)
        print(f"  {key:<8} {median:6.3f} ms   {median / bare:4.2f}x the bare read   {[round(v, 3) for v in values]}")
    for name in ("", "404"):
        old, new = statistics.median(spent[f"old{name}"]), statistics.median(spent[f"new{name}"])
        ratios = [b / a for a, b in zip(spent[f"old{name}"], spent[f"new{name}"], strict=True)]
        print(
            f"  route{name or ''}: old -> new {old:.3f} -> {new:.3f} ms ({new / old:.2f}; per round "
            f"{min(ratios):.2f}-{max(ratios):.2f}); above the bare read {old - bare:.3f} -> {new - bare:.3f} ms"
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--old", default="HEAD", help="the commit whose stack is 'old'")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--profile", choices=("bare", "old", "new"))
    args = parser.parse_args()
    async with private_database() as url, AsyncExitStack() as stack:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        ops, apps = await operations(stack, dsn, args.old)
        await same_answers(apps)
        print(f"load average {os.getloadavg()[0]:.1f}: the old and new stacks answer the same", flush=True)
        if args.profile:
            await profile(ops[args.profile], args.n)
        else:
            await measure(ops, args.n, args.rounds)


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
