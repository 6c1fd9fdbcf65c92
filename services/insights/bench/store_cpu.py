"""CPU of insights' event path and fold, SQLAlchemy Core against raw asyncpg (not a test).

One operation: a whole order's events (about 14: submitted, assigned, decided, approved, accepted, signed,
executed, received, closed; ``insights_testkit.full_order``) recorded as facts in one unit of work (the
consumer records a batch of events per transaction), committed; then one pass of the fold job
(``fold_pending``: the queue claimed, the request's facts read, folded, its derived rows replaced, the queue
row removed, committed).

Run with this checkout's stores (raw asyncpg through ``driver_connection``; the derived rows of each table
in one statement over column arrays) and with the Core statements they replaced (``Core*`` below, copied
from the previous version), alternated round by round in the same run. Before timing, the same order
through both: the fact rows and every derived row must be equal (each row's text, ``t::text``, in which
a SQL NULL and a JSON null differ). Reported: client CPU (this process) and backend CPU (``/proc`` of
the connection's PostgreSQL process) per event recorded and per fold, medians.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/insights/bench/store_cpu.py
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

from sqlalchemy import DateTime, bindparam, insert, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from insights_testkit import Order, full_order

import backoffice_insights
from backoffice_common.db import make_session_factory
from backoffice_common.testing import private_database
from backoffice_insights.domain.facts import Fact, Pending
from backoffice_insights.domain.fold import fold_fields
from backoffice_insights.domain.view import RequestView
from backoffice_insights.models import (
    DERIVED_PER_REQUEST,
    approval_task,
    contract_signing,
    failed_delivery,
    messaging,
    request_view,
    spend_line,
    stage_duration,
    vendor_answer,
)
from backoffice_insights.repository import store
from backoffice_insights.service.ingest import fold_pending
from backoffice_insights.service.uow import InsightsUnitOfWork
from backoffice_insights.settings import Settings

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_insights.__file__).parent / "migrations"
BANDS: list[Decimal] = Settings().amount_bands
TABLES = ("fact", "request_view", *(t.name for t in DERIVED_PER_REQUEST))


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# --- the Core statements of the previous version (repository/store.py at 8b3c47d) ---

_CTES = ", ".join(
    f"d{i} AS (DELETE FROM {t.name} WHERE request_id = ANY(:ids))"  # noqa: S608 - own table names
    for i, t in enumerate(DERIVED_PER_REQUEST)
)
_DELETE_VIEWS = text(f"WITH {_CTES} DELETE FROM request_view WHERE request_id = ANY(:ids)")  # noqa: S608
_RECORD = text(
    "WITH f AS (INSERT INTO fact (event_id, request_id, type, occurred_at, data) "
    "VALUES (:event_id, :request_id, :type, :occurred_at, :data) "
    "ON CONFLICT (event_id) DO NOTHING RETURNING request_id) "
    "INSERT INTO dirty_request (request_id) SELECT request_id FROM f "
    "ON CONFLICT (request_id) DO UPDATE SET version = dirty_request.version + 1, error = NULL "
    "RETURNING request_id"
).bindparams(bindparam("data", type_=JSONB), bindparam("occurred_at", type_=DateTime(timezone=True)))
_CLAIM = text(
    "SELECT request_id, version FROM ("
    "SELECT request_id, version FROM dirty_request WHERE error IS NULL ORDER BY marked_at LIMIT :limit) c "
    "WHERE pg_try_advisory_xact_lock(hashtextextended(c.request_id, 0))"
)
_FACTS_OF = text("SELECT event_id, type, occurred_at, request_id, data FROM fact WHERE request_id = ANY(:ids)").columns(
    occurred_at=DateTime(timezone=True), data=JSONB
)
_DONE = text(
    "DELETE FROM dirty_request d USING unnest(CAST(:ids AS text[]), CAST(:versions AS bigint[])) AS u(rid, v) "
    "WHERE d.request_id = u.rid AND d.version = u.v"
)


class CoreFacts(store.FactStore):
    async def record(self, f: Fact) -> bool:
        params = {
            "event_id": f.event_id,
            "request_id": f.request_id,
            "type": f.type,
            "occurred_at": f.time,
            "data": fold_fields(f.type, f.data),
        }
        return (await self.session.execute(_RECORD, params)).scalar_one_or_none() is not None


class CoreQueue(store.FoldQueue):
    async def claim(self, limit: int) -> list[Pending]:
        rows = await self.session.execute(_CLAIM, {"limit": limit})
        return [Pending(r.request_id, r.version) for r in rows]

    async def facts_of(self, request_ids: list[str]) -> dict[str, list[Fact]]:
        result: dict[str, list[Fact]] = {rid: [] for rid in request_ids}
        for r in await self.session.execute(_FACTS_OF, {"ids": request_ids}):
            result[r.request_id].append(Fact(r.event_id, r.type, r.occurred_at, r.request_id, r.data))
        return result

    async def done(self, pending: list[Pending]) -> None:
        ids = [p.request_id for p in pending]
        await self.session.execute(_DONE, {"ids": ids, "versions": [p.version for p in pending]})


class CoreViews(store.ViewStore):
    async def replace(self, request_ids: list[str], views: list[RequestView]) -> None:
        if not request_ids:
            return
        await self.session.execute(_DELETE_VIEWS, {"ids": request_ids})
        if not views:
            return
        rows: list[tuple[Any, list[dict[str, Any]]]] = [
            (request_view, [store._summary(v) for v in views]),
            (stage_duration, [store._stage(v.request_id, s) for v in views for s in v.stages]),
            (approval_task, [store._task(v.request_id, t) for v in views for t in v.tasks]),
            (vendor_answer, [{"request_id": v.request_id, **a.__dict__} for v in views for a in v.vendor_answers]),
            (contract_signing, [{"request_id": v.request_id, **s.__dict__} for v in views for s in v.signings]),
            (spend_line, [{"request_id": v.request_id, **s.__dict__} for v in views for s in v.spend]),
            (failed_delivery, [{"request_id": v.request_id, **d.__dict__} for v in views for d in v.failed_deliveries]),
        ]
        for table, values in rows:
            if values:
                await self.session.execute(insert(table), values)


class CoreUow(InsightsUnitOfWork):
    @property
    def facts(self) -> store.FactStore:
        return CoreFacts(self.session)

    @property
    def fold_queue(self) -> store.FoldQueue:
        return CoreQueue(self.session)

    @property
    def views(self) -> store.ViewStore:
        return CoreViews(self.session)


# --- the run ---


def an_order(i: int) -> Order:
    order = Order(department=f"D{i % 6}", category=f"C{i % 4}")
    full_order(order)
    return order


async def record(uow_of: Any, order: Order) -> None:
    async with uow_of() as uow:
        for f in order.facts():
            assert await uow.facts.record(f)
        await uow.commit()


async def fold(uow_of: Any) -> None:
    async with uow_of() as uow:
        assert (await fold_pending(uow=uow, bands=BANDS, limit=50)).claimed == 1


async def rows_of(factory: async_sessionmaker[AsyncSession], request_id: str) -> dict[str, list[Any]]:
    """Every row the request has in the fact table and the eight derived tables, as JSON, in a fixed order."""
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


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        kw: dict[str, Any] = {"tables": messaging, "service": "insights"}
        variants = {"core": partial(CoreUow, factory, **kw), "raw": partial(InsightsUnitOfWork, factory, **kw)}
        same = an_order(0)
        seen = {}
        for how, uow_of in variants.items():
            await record(uow_of, same)
            await fold(uow_of)
            seen[how] = await rows_of(factory, same.request_id)
            await forget(factory, same.request_id)
        assert seen["core"] == seen["raw"], "the two paths stored different rows"
        assert all(seen["raw"][t] for t in ("fact", "request_view", "stage_duration", "approval_task", "spend_line"))
        per_order = len(same.events)
        results: dict[tuple[str, str], tuple[list[float], list[float]]] = {
            (op, how): ([], []) for op in ("record", "fold") for how in variants
        }
        for uow_of in variants.values():  # warm-up
            for i in range(10):
                await record(uow_of, an_order(i))
                await fold(uow_of)
        for _ in range(rounds):
            for how, uow_of in variants.items():
                orders = [an_order(i) for i in range(n)]
                spent = {"record": [0.0, 0.0], "fold": [0.0, 0.0]}
                for order in orders:
                    for op, call in (("record", partial(record, uow_of, order)), ("fold", partial(fold, uow_of))):
                        c0, s0 = time.process_time(), backend_cpu(pid)
                        await call()
                        spent[op][0] += time.process_time() - c0
                        spent[op][1] += backend_cpu(pid) - s0
                for op, (c, s) in spent.items():
                    per = n * per_order if op == "record" else n
                    results[(op, how)][0].append(c / per * 1000)
                    results[(op, how)][1].append(s / per * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"insights store, {rounds} x {n} orders ({per_order} events each) per variant, alternated;")
    print(f"load {load[0]:.2f}/{load[1]:.2f}; the same facts and derived rows from both (checked)")
    print(f"{'':24}{'client ms':>10}{'backend ms':>11}")
    for (op, how), (client, server) in results.items():
        label = "per event recorded" if op == "record" else "per fold"
        print(f"  {label:18} {how:4}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")
    for op in ("record", "fold"):
        core, raw = results[(op, "core")], results[(op, "raw")]
        ratio_c = statistics.median(raw[0]) / statistics.median(core[0])
        backend_core = statistics.median(core[1])
        ratio_s = statistics.median(raw[1]) / backend_core if backend_core else float("nan")
        print(f"  {op}: raw/core client {ratio_c:.2f}, backend {ratio_s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
