"""CPU of insights' reports, SQLAlchemy ``text()`` against raw asyncpg (not a test).

One operation: every report the API answers, once each, in a read-only unit of work (cycle times by
department and month, stage shares, approvers, vendors, revisions, failed deliveries, task SLA by
approver, open requests, spend by department and month, one request's view), over 60 folded orders
(``insights_testkit.full_order``, six departments).

Run with this checkout's ``reports._rows`` (the named parameters turned into asyncpg's ``$n`` once per
text, raw asyncpg through ``driver_connection``) and with the SQLAlchemy ``text()`` execution it replaced
(``core_rows`` below), alternated round by round in the same run. Before timing, both must answer every
report with the same rows. Reported: client CPU (this process) and backend CPU (``/proc`` of the
connection's PostgreSQL process) per set of reports, medians.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/insights/bench/reports_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from insights_testkit import Order, full_order

import backoffice_insights
from backoffice_common.db import make_session_factory
from backoffice_common.testing import private_database
from backoffice_insights.models import messaging
from backoffice_insights.repository import reports
from backoffice_insights.service.ingest import fold_pending
from backoffice_insights.service.uow import InsightsUnitOfWork
from backoffice_insights.settings import Settings

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_insights.__file__).parent / "migrations"
ORDERS = 60


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def core_rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``reports._rows`` as it was (8b3c47d)."""
    result = await session.execute(text(sql), params)
    return [dict(row._mapping) for row in result]


RAW_ROWS = reports._rows


async def every_report(session: AsyncSession, request_id: str) -> list[Any]:
    scope = reports.Scope()
    as_of = datetime(2027, 6, 1, tzinfo=UTC)
    return [
        await reports.cycle_times(session, group_by="department", period="month", scope=scope),
        await reports.stage_shares(session, scope=scope),
        await reports.approvers(session, as_of=as_of, scope=scope),
        await reports.vendors(session, scope=scope),
        await reports.revisions(session, scope=scope),
        await reports.failed_deliveries(session, scope=scope, limit=50),
        await reports.task_sla(session, by="approver", as_of=as_of, scope=scope),
        await reports.open_requests(
            session, older_than_seconds=3600, as_of=as_of, scope=reports.Scope(department="D1")
        ),
        await reports.spend(session, group_by="department", by_month=True, reporting_currency="EUR", scope=scope),
        await reports.request_view(session, request_id),
    ]


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        bands: list[Decimal] = Settings().amount_bands
        async with InsightsUnitOfWork(factory, tables=messaging, service="insights") as uow:
            orders = []
            for i in range(ORDERS):
                order = Order(department=f"D{i % 6}", category=f"C{i % 4}")
                if i % 10 == 9:
                    order.submit()
                else:
                    full_order(order)
                orders.append(order)
                for f in order.facts():
                    await uow.facts.record(f)
            await uow.commit()
        async with InsightsUnitOfWork(factory, tables=messaging, service="insights") as uow:
            await fold_pending(uow=uow, bands=bands, limit=ORDERS)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        request_id = orders[0].request_id

        def variant(rows: Callable[..., Awaitable[list[dict[str, Any]]]]) -> Callable[[], Awaitable[list[Any]]]:
            async def once() -> list[Any]:
                reports._rows = rows  # type: ignore[assignment]
                try:
                    async with factory() as session:
                        answers = await every_report(session, request_id)
                        await session.rollback()
                        return answers
                finally:
                    reports._rows = RAW_ROWS

            return once

        variants = {"core": variant(core_rows), "raw": variant(RAW_ROWS)}
        core, raw = await variants["core"](), await variants["raw"]()
        assert core == raw, "the two paths answered differently"
        assert all(core[:4]), "a report came back empty"
        assert core[-1] is not None, "no view of the first order"
        results: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in variants}
        for once in variants.values():  # warm-up
            for _ in range(5):
                await once()
        for _ in range(rounds):
            for how, once in variants.items():
                c0, s0 = time.process_time(), backend_cpu(pid)
                for _ in range(n):
                    await once()
                client, server = results[how]
                client.append((time.process_time() - c0) / n * 1000)
                server.append((backend_cpu(pid) - s0) / n * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"insights reports (10 reports over {ORDERS} orders), {rounds} x {n} per variant, alternated;")
    print(f"load {load[0]:.2f}/{load[1]:.2f}; the same answers from both (checked)")
    print(f"{'per set':14}{'client ms':>10}{'backend ms':>11}")
    for how, (client, server) in results.items():
        print(f"  {how:12}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")
    c, r = results["core"], results["raw"]
    print(f"  raw/core client {statistics.median(r[0]) / statistics.median(c[0]):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
