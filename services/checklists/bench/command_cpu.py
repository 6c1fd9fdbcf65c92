"""CPU of checklists' command path, SQLAlchemy Core against raw asyncpg (not a test).

One operation, two units of work, each committed: an onboarding checklist started for a new employee
(``service.checklists.start``: the employee's lock, the open checklist looked up, the standard template,
the checklist and its items added, its timers, the outbox and audit rows), then its first ready item
completed by HR (``complete_item``: the checklist under its row lock with its items, the user's groups, the
checklist saved with all its items, the outbox and audit rows).

Run with this checkout's repository (raw asyncpg through ``driver_connection``; items in one statement over
column arrays) and with the Core one it replaced (``core_repository.py``, the previous version as it was),
alternated round by round in the same run. Before timing, one employee through each path: the checklist
and item rows (each row's text, ``t::text``, in which a SQL NULL and a JSON null differ) and the published
events must be equal but for ids and times. Reported: client CPU (this process) and backend CPU (``/proc``
of the connection's PostgreSQL process) per unit of work, medians.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/checklists/bench/command_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))

from core_repository import ChecklistRepository as CoreChecklists
from core_repository import GroupRepositoryCore

import backoffice_checklists
from backoffice_checklists.domain.employees import Employee
from backoffice_checklists.models import messaging
from backoffice_checklists.service import checklists as service
from backoffice_checklists.service.templates import seed
from backoffice_checklists.service.uow import ChecklistsUnitOfWork
from backoffice_common.auth import User
from backoffice_common.db import make_session_factory
from backoffice_common.testing import private_database

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_checklists.__file__).parent / "migrations"
HR = User(sub="hanna", name="Hanna", email="hanna@x.test", roles=frozenset({"hr"}))
ZONE = "Europe/Berlin"


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class CoreUow(ChecklistsUnitOfWork):
    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.checklists = CoreChecklists(self.session, track=self.track)  # type: ignore[assignment]
        self.groups = GroupRepositoryCore(self.session)  # type: ignore[assignment]
        return self


def employee(i: str) -> Employee:
    return Employee(id=f"emp-{i}", name=f"Employee {i}", language="en", start_date=date(2027, 1, 4), email="e@x.test")


async def one_employee(uow_of: Any, name: str) -> str:
    async with uow_of() as uow:
        checklist, _ = await service.start(uow=uow, kind="onboarding", employee=employee(name), zone=ZONE)
        await uow.commit()
    ready = next(i for i in checklist.items if i.status == "ready" and i.evidence_kind == "confirmation")
    async with uow_of() as uow:
        await service.complete_item(uow=uow, checklist_id=checklist.id, key=ready.key, evidence={}, user=HR)
        await uow.commit()
    return checklist.id


async def observed(factory: async_sessionmaker[AsyncSession], checklist_id: str, name: str) -> dict[str, Any]:
    names = [checklist_id, f"emp-{name}", f"Employee {name}"]

    def same(value: str) -> str:
        for i, n in enumerate(names):
            value = value.replace(n, f"<{i}>")
        return value

    async with factory() as session:
        row = (
            await session.execute(
                text(
                    "SELECT kind, status, template_key, version, employee::text AS employee"
                    " FROM checklist WHERE id = :id"
                ),
                {"id": checklist_id},
            )
        ).one()
        items = await session.execute(text(_ITEMS), {"id": checklist_id})
        out = await session.execute(
            text("SELECT event_type, value FROM outbox_message WHERE key = :id ORDER BY id"), {"id": checklist_id}
        )
        published = []
        for r in out:
            published.append((r.event_type, without_times(json.loads(same(r.value.decode()))["data"])))
        return {
            "checklist": (row.kind, row.status, row.template_key, row.version, same(row.employee)),
            "items": [(same(r.row_text), r.done) for r in items],
            "published": published,
        }


_ITEMS = (
    "SELECT ROW(checklist_id, key, position, title, responsible, assignee_group, assignee_user, due_anchor,"
    " due_offset_days, due_on, evidence_kind, depends_on, access_revocation, status, evidence, done_by,"
    " escalated_to, purchase, purchase_request_id)::text AS row_text, done_at IS NOT NULL AS done"
    " FROM checklist_item WHERE checklist_id = :id ORDER BY position"
)
"""Each item's columns but its times as the text of one row, in which a SQL NULL and a JSON null differ."""


def without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if not k.endswith("_at")}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        kw: dict[str, Any] = {"tables": messaging, "service": "checklists"}
        variants = {"core": partial(CoreUow, factory, **kw), "raw": partial(ChecklistsUnitOfWork, factory, **kw)}
        async with variants["raw"]() as uow:
            await seed(uow=uow)
            await uow.commit()
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        seen = {}
        for how, uow_of in variants.items():
            name = f"same-{how}"
            seen[how] = await observed(factory, await one_employee(uow_of, name), name)
        for key in seen["core"]:
            assert seen["core"][key] == seen["raw"][key], (key, seen["core"][key], seen["raw"][key])
        assert any(done for _, done in seen["raw"]["items"]), "no item done"
        results: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in variants}
        for uow_of in variants.values():  # warm-up
            for _ in range(10):
                await one_employee(uow_of, uuid.uuid4().hex)
        for _ in range(rounds):
            for how, uow_of in variants.items():
                c0, s0 = time.process_time(), backend_cpu(pid)
                for _ in range(n):
                    await one_employee(uow_of, uuid.uuid4().hex)
                client, server = results[how]
                client.append((time.process_time() - c0) / (2 * n) * 1000)
                server.append((backend_cpu(pid) - s0) / (2 * n) * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"checklists command path, {rounds} x {n} employees (a start and a completed item each), alternated;")
    print(f"load {load[0]:.2f}/{load[1]:.2f}; the same checklist, items and events from both (checked)")
    print(f"{'per unit of work':18}{'client ms':>10}{'backend ms':>11}")
    for how, (client, server) in results.items():
        print(f"  {how:16}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")
    core, raw = results["core"], results["raw"]
    ratio_c = statistics.median(raw[0]) / statistics.median(core[0])
    ratio_s = statistics.median(raw[1]) / statistics.median(core[1]) if statistics.median(core[1]) else float("nan")
    print(f"  raw/core client {ratio_c:.2f}, backend {ratio_s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
