"""CPU of a checklist event's lead-time row in insights: the previous version (a SQLAlchemy Core upsert compiled
per call) against the same upsert as one prepared raw asyncpg statement (``checklist_leads.record``). Not a test.

One operation: a checklist's completion, its start (arriving late) and a redelivered completion, each in a
transaction of its own. Client CPU (this process) and backend CPU (``/proc`` of the connection's PostgreSQL
process) per event, medians of ``--rounds`` rounds, the variants alternated round by round. First the same
events (in both orders) through both: the same rows (``t::text``).

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/insights/bench/checklist_lead_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

import backoffice_insights
from backoffice_common.db import make_session_factory
from backoffice_common.testing import private_database
from backoffice_insights.models import checklist_lead
from backoffice_insights.repository import checklist_leads

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_insights.__file__).parent / "migrations"
T0 = datetime(2027, 3, 1, 8, tzinfo=UTC)


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def old_record(session: AsyncSession, **kw: Any) -> None:
    """The previous ``checklist_leads.record``: the Core upsert."""
    stmt = insert(checklist_lead).values(**kw)
    existing = checklist_lead.c
    updates: dict[str, Any] = {
        "kind": stmt.excluded.kind,
        "template_key": stmt.excluded.template_key,
        "department": stmt.excluded.department,
        "started_at": func.coalesce(existing.started_at, stmt.excluded.started_at),
    }
    if kw["status"] != "running":
        updates |= {"status": stmt.excluded.status, "ended_at": stmt.excluded.ended_at}
    await session.execute(stmt.on_conflict_do_update(index_elements=["checklist_id"], set_=updates))


Record = Callable[..., Awaitable[None]]


def events(cid: str) -> list[dict[str, Any]]:
    common = {"checklist_id": cid, "kind": "onboarding", "template_key": "onboarding-en", "department": "SALES"}
    done = {**common, "status": "completed", "started_at": T0, "ended_at": T0 + timedelta(days=9)}
    return [done, {**common, "status": "running", "started_at": T0 + timedelta(hours=1), "ended_at": None}, done]


async def apply(session: AsyncSession, record: Record, cid: str, order: int = 1) -> None:
    for kw in events(cid)[::order]:
        async with session.begin():
            await record(session, **kw)


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        variants: dict[str, Record] = {"Core upsert": old_record, "raw statement": checklist_leads.record}
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            await session.commit()
            seen = []
            for i, record in enumerate(variants.values()):
                for order in (1, -1):
                    await apply(session, record, f"check-{i}-{order}", order)
                sql = "SELECT t::text FROM checklist_lead t WHERE checklist_id LIKE :p ORDER BY checklist_id"
                rows = (await session.execute(text(sql), {"p": f"check-{i}-%"})).scalars().all()
                seen.append([r.replace(f"check-{i}-", "check-") for r in rows])
                await session.commit()
            assert seen[0] == seen[1], seen
            results: dict[str, tuple[list[float], list[float]]] = {how: ([], []) for how in variants}
            for r in range(rounds + 1):
                for how, record in variants.items():
                    c0, s0 = time.process_time(), backend_cpu(pid)
                    for i in range(n):
                        await apply(session, record, f"{how[:4]}-{r}-{i}")
                    if r:  # the first round warms up
                        results[how][0].append((time.process_time() - c0) / (3 * n) * 1000)
                        results[how][1].append((backend_cpu(pid) - s0) / (3 * n) * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"insights checklist lead rows, {rounds} x {n} checklists x 3 events per variant, alternated;")
    print(f"load {load[0]:.2f}/{load[1]:.2f}; the same rows from both, in both arrival orders (checked)")
    print(f"{'per event (its transaction)':28}{'client ms':>10}{'backend ms':>11}")
    for how, (client, server) in results.items():
        print(f"  {how:26}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
