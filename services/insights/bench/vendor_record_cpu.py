"""CPU of a ``vendor.updated`` kept by insights: the previous version (a locking read of the record kept through
SQLAlchemy Core, the comparison in Python, a Core upsert) against one raw statement
(``FactStore.save_vendor_if_newer``: the upsert's own ``WHERE`` compares). Not a test.

One operation: a vendor's four updates (two newer, one at the same time with a smaller id, one older), each in a
unit of work of its own (claim-less: ``record_vendor`` and the commit). Client CPU (this process) and backend CPU
(``/proc`` of the connection's PostgreSQL process) per update, medians of ``--rounds`` rounds, the two variants
alternated round by round. First the same updates through both: the same answers and the same stored rows.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/insights/bench/vendor_record_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import backoffice_insights
from backoffice_common.db import make_session_factory
from backoffice_common.testing import private_database
from backoffice_insights.domain.facts import VendorFact
from backoffice_insights.models import messaging
from backoffice_insights.repository.store import FactStore
from backoffice_insights.service.ingest import record_vendor
from backoffice_insights.service.uow import InsightsUnitOfWork

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_insights.__file__).parent / "migrations"
T0 = datetime(2027, 3, 1, 8, tzinfo=UTC)


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class OldFacts(FactStore):
    """The previous ``record_vendor`` path: the locking read, Python's comparison, the Core upsert."""

    async def save_vendor_if_newer(self, v: VendorFact) -> bool:
        if not v.newer_than(await self.vendor(v.vendor_id)):
            return False
        await self.save_vendor(v)
        return True


class OldUow(InsightsUnitOfWork):
    @property
    def facts(self) -> FactStore:
        return OldFacts(self.session)


def updates(vendor_id: str) -> list[VendorFact]:
    return [
        VendorFact(vendor_id, "First", "active", T0, "e-2"),
        VendorFact(vendor_id, "Later", "active", T0 + timedelta(seconds=1), "e-3"),
        VendorFact(vendor_id, "Same time, smaller id", "blocked", T0 + timedelta(seconds=1), "e-1"),
        VendorFact(vendor_id, "Older", "active", T0 - timedelta(seconds=1), "e-4"),
    ]


async def apply(uow_of: Any, vendor_id: str) -> list[str]:
    answers = []
    for v in updates(vendor_id):
        async with uow_of() as uow:
            answers.append(await record_vendor(uow=uow, vendor=v))
            await uow.commit()
    return answers


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        kw: dict[str, Any] = {"tables": messaging, "service": "insights"}
        uows = {
            "read, then upsert": partial(OldUow, factory, **kw),
            "one statement": partial(InsightsUnitOfWork, factory, **kw),
        }
        answers = {how: await apply(uow_of, f"check-{how}") for how, uow_of in uows.items()}
        assert len(set(map(tuple, answers.values()))) == 1, answers
        async with factory() as session:
            rows = (await session.execute(text("SELECT legal_name, status, updated_at, event_id FROM vendor"))).all()
        assert len(rows) == 2, rows
        assert len(set(rows)) == 1, rows
        results: dict[str, tuple[list[float], list[float]]] = {how: ([], []) for how in uows}
        for r in range(rounds + 1):
            for how, uow_of in uows.items():
                c0, s0 = time.process_time(), backend_cpu(pid)
                for i in range(n):
                    await apply(uow_of, f"{how}-{r}-{i}")
                if r:  # the first round warms up
                    results[how][0].append((time.process_time() - c0) / (4 * n) * 1000)
                    results[how][1].append((backend_cpu(pid) - s0) / (4 * n) * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"insights vendor.updated kept, {rounds} x {n} vendors x 4 updates per variant, alternated;")
    print(f"load {load[0]:.2f}/{load[1]:.2f}; the same answers and rows from both (checked)")
    print(f"{'per update':24}{'client ms':>10}{'backend ms':>11}")
    for how, (client, server) in results.items():
        print(f"  {how:22}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
