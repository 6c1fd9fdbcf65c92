"""``/readyz``'s three database checks, old (copied: ``engine.connect()``, BEGIN, statement, ROLLBACK) against
new (``read_connection``: the statement alone), alternated in one run (not a test).

The real check functions of ``backoffice_common.health`` and their old versions are called with a request
whose app state holds the engine, the settings and a relay's status, against a private database of the
current profile's PostgreSQL (messaging tables, an ``alembic_version`` row); both first give the same
answers. Client CPU (this process), backend CPU (``/proc`` of the pool's one PostgreSQL process), wall,
per probe (the three checks); medians of rounds.

    source deploy/env.sh && .venv/bin/python services/common/bench/readyz_cpu.py --n 300 --rounds 6
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backoffice_common import health
from backoffice_common.messaging import create_messaging_tables
from backoffice_common.outbox import BACKLOG_SQL, Backlog, report_backlog
from backoffice_common.settings import ServiceSettings
from backoffice_common.testing import private_database

TICKS = os.sysconf("SC_CLK_TCK")


async def old_database(request: Any) -> dict[str, Any]:
    async with request.app.state.engine.connect() as conn:
        await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=3)
    return {"ok": True}


async def old_schema(request: Any) -> dict[str, Any]:
    expected = health.expected_schema_heads(request.app.state.settings.service_name)
    assert expected is not None
    async with request.app.state.engine.connect() as conn:
        result = await asyncio.wait_for(conn.execute(text("SELECT version_num FROM alembic_version")), timeout=3)
        current = frozenset(row[0] for row in result)
    return {"ok": current == expected, "expected": sorted(expected), "current": sorted(current)}


async def old_outbox(request: Any) -> dict[str, Any]:
    settings = request.app.state.settings
    relay = request.app.state.relay
    state: dict[str, Any] = {"leader": relay.is_leader, "last_error": relay.last_error}
    async with request.app.state.engine.connect() as conn:
        row = (await asyncio.wait_for(conn.execute(text(BACKLOG_SQL)), timeout=3)).one()
    backlog = Backlog(int(row.unsent), row.oldest_age)
    report_backlog(settings.service_name, backlog)
    age = backlog.oldest_age_seconds
    return {"ok": age is None or age <= settings.outbox_stall_seconds, **state, "unsent": backlog.unsent}


Check = Callable[[Any], Awaitable[dict[str, Any]]]
VARIANTS: dict[str, tuple[Check, Check, Check]] = {
    "old": (old_database, old_schema, old_outbox),
    "new": (health._check_database, health._check_schema, health._check_outbox),
}


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def probe(checks: tuple[Check, Check, Check], request: Any) -> list[dict[str, Any]]:
    return [await check(request) for check in checks]


async def run(n: int, rounds: int) -> None:
    async with private_database() as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(create_messaging_tables)
                await conn.execute(text("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)"))
                await conn.execute(text("INSERT INTO alembic_version VALUES ('0107_audit_append')"))
                pid = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            settings = ServiceSettings(service_name="requests", jwt_secret="s" * 40)
            relay = SimpleNamespace(is_leader=True, last_error=None)
            request = SimpleNamespace(
                app=SimpleNamespace(state=SimpleNamespace(engine=engine, settings=settings, relay=relay))
            )
            answers = {}
            for name, checks in VARIANTS.items():
                answers[name] = [
                    {k: v for k, v in a.items() if k in ("ok", "current", "unsent")}
                    for a in await probe(checks, request)
                ]
            assert answers["old"] == answers["new"], answers
            client: dict[str, list[float]] = {name: [] for name in VARIANTS}
            server: dict[str, list[float]] = {name: [] for name in VARIANTS}
            for r in range(rounds):
                for name in VARIANTS if r % 2 == 0 else reversed(list(VARIANTS)):
                    checks = VARIANTS[name]
                    c0, s0 = time.process_time(), backend_cpu(pid)
                    for _ in range(n):
                        await probe(checks, request)
                    client[name].append((time.process_time() - c0) / n * 1000)
                    server[name].append((backend_cpu(pid) - s0) / n * 1000)
        finally:
            await engine.dispose()
    load = os.getloadavg()
    print(f"/readyz's three database checks, {rounds} x {n} each, alternated, load {load[0]:.2f}/{load[1]:.2f}")
    for name in VARIANTS:
        c, b = statistics.median(client[name]), statistics.median(server[name])
        print(f"  {name}: client {c:.3f} ms, backend {b:.3f} ms")
    print(f"  ratio new/old: client {statistics.median(client['new']) / statistics.median(client['old']):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
