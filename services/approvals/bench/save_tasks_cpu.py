"""CPU of saving a chain's tasks, SQLAlchemy Core multi-row VALUES against one raw asyncpg ``unnest`` (not a test).

Also the task lists (``GET /tasks``: the delegators and a first page of 50 open tasks of a user with a
few thousand; the same filtered by one request, as the flow polls it; the decided tasks), the raw
statements against the Core ones (``page_rows_core``), after checking that both answer the same rows;
and what ``GET /tasks`` runs now ("now": no session, the delegators and the page in one statement on a
``read_connection``, ``task_page_rows_now``) against the session's two statements ("raw").

A chain of ``--tasks`` tasks is added (insert) and then saved with one task decided (upsert), in one
committed transaction, against a private, migrated database of the current profile's PostgreSQL:
once with ``ChainRepository._save_tasks`` of this checkout and once with the Core statement it
replaced (copied below), alternated round by round in the same run. Before timing, both paths store
one chain and the stored rows are compared column by column (as text). Reported: client CPU (this
process) and backend CPU (``/proc`` of the connection's PostgreSQL process) per chain, medians of
``--rounds`` rounds.

    source deploy/env.sh && .venv/bin/python services/approvals/bench/save_tasks_cpu.py --n 200 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

import backoffice_approvals
from backoffice_approvals.domain.chain import Task
from backoffice_approvals.domain.people import Person
from backoffice_approvals.models import approval_task
from backoffice_approvals.repository.chains import MUTABLE_TASK_COLUMNS, ChainRepository, _task_values
from backoffice_approvals.repository.task_lists import TaskFilter, task_page_rows_now
from backoffice_common.db import make_session_factory, read_connection
from backoffice_common.testing import private_database

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from task_lists_reference import delegators, page_rows_core, task_page_rows

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_approvals.__file__).parent / "migrations"


_STORED = (
    "SELECT step_index, stage, approver::text, assignee_id, assignee::text, on_behalf_of IS NULL,"
    " on_behalf_of::text, status, decision, comment, decided_by::text, decided_on_behalf_of IS NULL,"
    " decided_on_behalf_of::text, decided_at IS NULL, closed_reason, escalated_from IS NULL"
    " FROM approval_task WHERE chain_id = :c ORDER BY step_index"
)
"""What both paths must store alike (ids and times differ between the two chains)."""


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def save_core(session: AsyncSession, chain: Any) -> None:
    stmt = insert(approval_task).values([_task_values(chain, t) for t in chain.tasks])
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["id"], set_={c: stmt.excluded[c] for c in MUTABLE_TASK_COLUMNS})
    )


async def save_raw(session: AsyncSession, chain: Any) -> None:
    await ChainRepository(session, track=lambda _: None)._save_tasks(chain)


def new_chain(tasks: int) -> Any:
    now = datetime.now(UTC)
    person = Person(id="anna", name="Anna", email="anna@x.test", language="de")
    return SimpleNamespace(
        id=str(uuid.uuid4()),
        request_id=str(uuid.uuid4()),
        tasks=[
            Task(
                id=str(uuid.uuid4()), step_index=k, stage=k, approver=person, assignee=person,
                on_behalf_of=None, due_at=now + timedelta(days=2), remind_at=now + timedelta(days=1), created_at=now,
            )
            for k in range(tasks)
        ],
    )  # fmt: skip


def decided(chain: Any) -> Any:
    first = dataclasses.replace(
        chain.tasks[0],
        status="decided",
        decision="approve",
        comment="ok",
        decided_by=chain.tasks[0].assignee,
        decided_at=datetime.now(UTC),
    )
    return SimpleNamespace(id=chain.id, request_id=chain.request_id, tasks=[first, *chain.tasks[1:]])


async def run(n: int, rounds: int, tasks: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())

        def one(save: Callable[[AsyncSession, Any], Awaitable[None]]) -> Callable[[], Awaitable[str]]:
            async def chain_added_and_decided() -> str:
                chain = new_chain(tasks)
                async with factory() as session:
                    await session.execute(
                        text(
                            "INSERT INTO approval_chain (id, request_id, revision, requester, snapshot, steps, notes,"
                            " policy_version, reminder_share, status) VALUES (:id, :r, 1, '{}', '{}', '[]', '[]', 1,"
                            " 0.5, 'active')"
                        ),
                        {"id": chain.id, "r": chain.request_id},
                    )
                    await save(session, chain)
                    await save(session, decided(chain))
                    await session.commit()
                return str(chain.id)

            return chain_added_and_decided

        ops = {"core": one(save_core), "raw": one(save_raw)}
        stored = {}
        for how, op in ops.items():
            chain_id = await op()
            async with factory() as session:
                rows = await session.execute(text(_STORED), {"c": chain_id})
                stored[how] = [tuple(r) for r in rows]
        assert len(stored["core"]) == tasks, stored
        assert stored["core"] == stored["raw"], stored
        results: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in ops}
        for op in ops.values():
            for _ in range(30):
                await op()
        for _ in range(rounds):
            for how, op in ops.items():
                c0, s0 = time.process_time(), backend_cpu(pid)
                for _ in range(n):
                    await op()
                results[how][0].append((time.process_time() - c0) / n * 1000)
                results[how][1].append((backend_cpu(pid) - s0) / n * 1000)

        def listing(rows: Any, where: TaskFilter = TaskFilter()) -> Callable[[], Awaitable[str]]:
            async def first_page() -> str:
                async with factory() as session:
                    delegating = await delegators(session=session, user_id="anna", now=datetime.now(UTC))
                    page = await rows(
                        session=session, user_id="anna", delegating=delegating, where=where, after=None, limit=51
                    )
                    await session.rollback()
                return repr([vars(r) if isinstance(r, SimpleNamespace) else r._asdict() for r in page])

            return first_page

        def listing_now(where: TaskFilter = TaskFilter()) -> Callable[[], Awaitable[str]]:
            """What ``GET /tasks`` does now: no session, one statement on a read connection."""

            async def first_page() -> str:
                async with read_connection(engine) as conn:
                    now = datetime.now(UTC)
                    page = await task_page_rows_now(conn, user_id="anna", now=now, where=where, after=None, limit=51)
                return repr([vars(r) for r in page])

            return first_page

        async with factory() as session:
            request_id = (await session.execute(text("SELECT max(request_id) FROM approval_task"))).scalar_one()
        one_request, history = TaskFilter(request_id=request_id), TaskFilter(state="decided")
        lists = {
            "list core": listing(page_rows_core),
            "list raw": listing(task_page_rows),
            "of request core": listing(page_rows_core, one_request),
            "of request raw": listing(task_page_rows, one_request),
            "decided core": listing(page_rows_core, history),
            "decided raw": listing(task_page_rows, history),
            "list now": listing_now(),
            "of request now": listing_now(one_request),
        }
        for core, raw in (("list core", "list raw"), ("of request core", "of request raw")):
            assert await lists[core]() == await lists[raw](), (core, raw)
        assert await lists["decided core"]() == await lists["decided raw"]()
        assert await lists["list now"]() == await lists["list raw"]()
        assert await lists["of request now"]() == await lists["of request raw"]()
        for how, op in lists.items():
            results[how] = ([], [])
            for _ in range(30):
                await op()
        for _ in range(rounds):
            for how, op in lists.items():
                c0, s0 = time.process_time(), backend_cpu(pid)
                for _ in range(n):
                    await op()
                results[how][0].append((time.process_time() - c0) / n * 1000)
                results[how][1].append((backend_cpu(pid) - s0) / n * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"a chain of {tasks} tasks added and one decided (2 saves, 1 commit), {rounds} x {n}, load {load[0]:.2f}")
    print(
        "and GET /tasks' queries (delegators + the first page of 50: open tasks; of one request, as the flow"
        " polls; decided tasks), read-only; 'now': without a session, one statement on a read connection:"
    )
    for how, (client, server) in results.items():
        c, b = statistics.median(client), statistics.median(server)
        print(f"  {how:9} client CPU {c:6.3f} ms   backend CPU {b:6.3f} ms")
    pairs = [("core", "raw"), *((f"{list_} core", f"{list_} raw") for list_ in ("list", "of request", "decided"))]
    pairs += [("list raw", "list now"), ("of request raw", "of request now")]
    for core, raw in pairs:
        c = statistics.median(results[raw][0]) / statistics.median(results[core][0])
        print(f"  {raw}/{core} client {c:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds, args.tasks))


if __name__ == "__main__":
    main()
