"""CPU of the fold job per order: a pass's writes as two statements (the seventh round: the deletes, then the
inserts and the queue rows removed), against one (``ViewStore.write``: the deletes, a gate counting them, the
inserts and the queue rows removed, as data-modifying CTEs). Both with a ``FoldCache``. Not a test.

One operation: a whole order's facts (``insights_testkit.full_order``, 14 events) arriving in ``--passes``
groups as a live flow delivers them (the fold job runs between the groups), each group recorded and
committed, then one pass of the fold job. The fold passes are timed: client CPU (this process) and backend
CPU (``/proc`` of the connection's PostgreSQL process), per order, medians of ``--rounds`` rounds, the two
variants alternated round by round. Before timing, the same orders through both: every stored row of the
fact table and the seven derived tables must be equal (``t::text``, a SQL NULL and a JSON null differ),
after every pass.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/insights/bench/write_one_statement_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from insights_testkit import Order, full_order

import backoffice_insights
from backoffice_common.db import driver_connection, make_session_factory
from backoffice_common.testing import private_database
from backoffice_insights.domain.facts import Fact, Pending
from backoffice_insights.models import messaging
from backoffice_insights.repository import store
from backoffice_insights.repository.store import VIEW_TABLES
from backoffice_insights.service.ingest import FoldCache, fold_pending
from backoffice_insights.service.uow import InsightsUnitOfWork
from backoffice_insights.settings import Settings

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_insights.__file__).parent / "migrations"
BANDS: list[Decimal] = Settings().amount_bands
TABLES = ("fact", *VIEW_TABLES)


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class TwoStatements(store.ViewStore):
    """The seventh round's ``ViewStore.write``: the deletes in one statement, the inserts and ``done`` in another."""

    async def write(
        self, deleted: dict[str, list[str]], inserted: dict[str, list[tuple[Any, ...]]], done: list[Pending]
    ) -> None:
        conn = await driver_connection(self.session)
        tables = tuple(t for t in VIEW_TABLES if deleted.get(t))
        if tables:
            await conn.execute(store._delete_sql(tables), *(deleted[t] for t in tables))
        tables = tuple(t for t in VIEW_TABLES if inserted.get(t))
        args: list[Any] = []
        for t in tables:
            args.extend(list(column) for column in zip(*inserted[t], strict=True))
        args += [[p.request_id for p in done], [p.version for p in done]]
        await conn.execute(store._insert_done_sql(tables), *args)


class OldUow(InsightsUnitOfWork):
    @property
    def views(self) -> store.ViewStore:
        return TwoStatements(self.session)


def an_order(i: int) -> Order:
    order = Order(department=f"D{i % 6}", category=f"C{i % 4}")
    full_order(order)
    return order


def groups(facts: list[Fact], passes: int) -> list[list[Fact]]:
    """The facts in ``passes`` consecutive groups of nearly equal size (a flow's events between two passes)."""
    size, extra = divmod(len(facts), passes)
    out, at = [], 0
    for i in range(passes):
        n = size + (1 if i < extra else 0)
        out.append(facts[at : at + n])
        at += n
    return [g for g in out if g]


async def record(uow_of: Any, facts: list[Fact]) -> None:
    async with uow_of() as uow:
        for f in facts:
            assert await uow.facts.record(f)
        await uow.commit()


async def fold(uow_of: Any, cache: FoldCache | None) -> None:
    async with uow_of() as uow:
        assert (await fold_pending(uow=uow, bands=BANDS, limit=50, cache=cache)).claimed == 1


async def rows_of(factory: async_sessionmaker[AsyncSession], request_id: str) -> dict[str, list[Any]]:
    found = {}
    async with factory() as session:
        for table in TABLES:
            sql = f"SELECT t::text AS j FROM {table} t WHERE request_id = :rid ORDER BY t::text"  # noqa: S608
            found[table] = [r.j for r in await session.execute(text(sql), {"rid": request_id})]
    return found


async def forget(factory: async_sessionmaker[AsyncSession], request_id: str) -> None:
    async with factory() as session, session.begin():
        for table in (*TABLES, "dirty_request"):
            await session.execute(text(f"DELETE FROM {table} WHERE request_id = :rid"), {"rid": request_id})  # noqa: S608


async def run(n: int, rounds: int, passes: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        kw: dict[str, Any] = {"tables": messaging, "service": "insights"}
        uows = {"two": partial(OldUow, factory, **kw), "one": partial(InsightsUnitOfWork, factory, **kw)}
        caches: dict[str, FoldCache | None] = {"two": FoldCache(), "one": FoldCache()}
        same = an_order(0)
        seen: dict[str, list[dict[str, list[Any]]]] = {}
        for how, cache in caches.items():
            seen[how] = []
            for step in groups(same.facts(), passes):
                await record(uows[how], step)
                await fold(uows[how], cache)
                seen[how].append(await rows_of(factory, same.request_id))
            await forget(factory, same.request_id)
        assert seen["two"] == seen["one"], "the two variants stored different rows"
        assert all(seen["two"][-1][t] for t in ("fact", "request_view", "stage_duration", "approval_task"))
        results: dict[str, tuple[list[float], list[float]]] = {how: ([], []) for how in caches}
        for how, cache in caches.items():  # warm-up
            for i in range(5):
                for step in groups(an_order(i).facts(), passes):
                    await record(uows[how], step)
                    await fold(uows[how], cache)
        for _ in range(rounds):
            for how, cache in caches.items():
                client = backend = 0.0
                for i in range(n):
                    for step in groups(an_order(i).facts(), passes):
                        await record(uows[how], step)
                        c0, s0 = time.process_time(), backend_cpu(pid)
                        await fold(uows[how], cache)
                        client += time.process_time() - c0
                        backend += backend_cpu(pid) - s0
                results[how][0].append(client / n * 1000)
                results[how][1].append(backend / n * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"insights fold passes, {rounds} x {n} orders per variant, alternated; {passes} passes per order;")
    print(f"load {load[0]:.2f}/{load[1]:.2f}; the same rows from both after every pass (checked)")
    print(f"{'per order':24}{'client ms':>10}{'backend ms':>11}")
    for how, (client, server) in results.items():
        print(f"  {how:22}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")
    whole, changes = results["two"], results["one"]
    ratio_c = statistics.median(changes[0]) / statistics.median(whole[0])
    backend_whole = statistics.median(whole[1])
    ratio_s = statistics.median(changes[1]) / backend_whole if backend_whole else float("nan")
    print(f"  one/two statements: client {ratio_c:.2f}, backend {ratio_s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--passes", type=int, default=7, help="fold passes per order (the facts in this many groups)")
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds, args.passes))


if __name__ == "__main__":
    main()
