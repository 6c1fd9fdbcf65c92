"""CPU of ``GET /tasks/{id}`` and ``GET /requests/{id}/chain``: in a unit of work with SQLAlchemy Core (before)
against a read connection with raw asyncpg (after) (not a test).

The routes' bodies, called as functions: "uow" is the previous path (copied below: a unit of work opened
and closed as ``UowDep`` did, the task, its chain, a request's chains and their tasks read by Core
statements, the absences and the directory through the unit of work's repositories), "conn" this
checkout's (``read_connection``, ``api.tasks.get_task`` and ``request_chain``: the task and its chain in
one statement). Also a decision's answer: after the decision's commit, the task re-read by the session in
a new transaction (before) against one statement on a read connection (``task_row_now``, now; the pool
has one connection, so the unit of work must have given its own back). The reads each for a user named
on the tasks (no further read) and for a delegate of the assignee (the absences and the directory read
too). Seeded as ``reads_cpu.seed`` (60 approvers, 20 absences, a
chain of 3 tasks). Before timing, both answer the same JSON, byte for byte, for every case (and the same
404 for a stranger). Reported: client CPU (this process) and backend CPU (``/proc`` of PostgreSQL's
process) per read, medians of ``--rounds`` rounds, alternated.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/approvals/bench/task_reads_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reads_cpu import MIGRATIONS, backend_cpu, seed

from backoffice_approvals.api.tasks import get_task, request_chain, task_read
from backoffice_approvals.domain.delegation import resolve_delegate
from backoffice_approvals.domain.people import Person
from backoffice_approvals.models import approval_chain, approval_task, messaging
from backoffice_approvals.repository.reads import task_row_now
from backoffice_approvals.schemas import ChainRead
from backoffice_approvals.service.planning import now_utc
from backoffice_approvals.service.tasks import people_on
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_common.auth import User
from backoffice_common.db import make_session_factory, read_connection
from backoffice_common.errors import NotFound
from backoffice_common.testing import private_database

# --- the previous path (repository/reads.py, service/tasks.py, api/tasks.py before this round) ---


async def core_task_row(session: AsyncSession, task_id: str) -> Any:
    return (await session.execute(select(approval_task).where(approval_task.c.id == task_id))).first()


async def core_chain_row(session: AsyncSession, chain_id: str) -> Any:
    return (await session.execute(select(approval_chain).where(approval_chain.c.id == chain_id))).one()


async def core_may_see(uow: ApprovalsUnitOfWork, user: User, tasks: Sequence[Any], requester_id: str) -> bool:
    if user.sees_everything or user.sub == requester_id or user.sub in people_on(tasks):
        return True
    now = now_utc()
    absences = await uow.absences.active_at(now)
    directory = await uow.directory.load()
    for row in tasks:
        if row.status == "open":
            assignee = Person.from_dict(row.assignee)
            delegate, _ = resolve_delegate(assignee, directory=directory, absences=absences, at=now, excluded=())
            if delegate.id == user.sub:
                return True
    return False


async def uow_get_task(uow: ApprovalsUnitOfWork, user: User, task_id: str) -> str:
    row = await core_task_row(uow.session, task_id)
    if row is None:
        raise NotFound(f"no task {task_id}")
    chain = await core_chain_row(uow.session, row.chain_id)
    if not await core_may_see(uow, user, [row], chain.requester["id"]):
        raise NotFound(f"no task {task_id}")
    return task_read(row, steps=chain.steps, request=chain.snapshot).model_dump_json()


async def uow_request_chain(uow: ApprovalsUnitOfWork, user: User, request_id: str) -> str:
    query = select(approval_chain).where(approval_chain.c.request_id == request_id).order_by(approval_chain.c.revision)
    chains = list((await uow.session.execute(query)).all())
    if not chains:
        raise NotFound(f"no approval chain for request {request_id}")
    ids = [c.id for c in chains]
    tasks_query = select(approval_task).where(approval_task.c.chain_id.in_(ids)).order_by(approval_task.c.created_at)
    tasks = list((await uow.session.execute(tasks_query)).all())
    if not await core_may_see(uow, user, tasks, chains[0].requester["id"]):
        raise NotFound(f"no approval chain for request {request_id}")
    return _chains_json(chains, tasks)


def _chains_json(chains: Sequence[Any], tasks: Sequence[Any]) -> str:
    return repr(
        [
            ChainRead(
                id=c.id, request_id=c.request_id, revision=c.revision, policy_version=c.policy_version,
                status=c.status, blocked_reason=c.blocked_reason, notes=c.notes, steps=c.steps,
                tasks=[task_read(t, steps=c.steps) for t in tasks if t.chain_id == c.id],
            ).model_dump_json()
            for c in chains
        ]
    )  # fmt: skip


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        task_id = await seed(factory)
        async with factory() as session:
            request_id = (
                await session.execute(text("SELECT request_id FROM approval_task WHERE id = :id"), {"id": task_id})
            ).scalar_one()
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())

        def uow() -> ApprovalsUnitOfWork:
            return ApprovalsUnitOfWork(factory, tables=messaging, service="approvals")

        named, delegate, stranger = User(sub="user-1"), User(sub="user-21"), User(sub="user-59")

        def old_task(user: User) -> Callable[[], Awaitable[str]]:
            async def read() -> str:
                async with uow() as u:
                    return await uow_get_task(u, user, task_id)

            return read

        def new_task(user: User) -> Callable[[], Awaitable[str]]:
            async def read() -> str:
                async with read_connection(engine) as conn:
                    return (await get_task(task_id, user, conn)).model_dump_json()

            return read

        def old_chain(user: User) -> Callable[[], Awaitable[str]]:
            async def read() -> str:
                async with uow() as u:
                    return await uow_request_chain(u, user, request_id)

            return read

        def new_chain(user: User) -> Callable[[], Awaitable[str]]:
            async def read() -> str:
                async with read_connection(engine) as conn:
                    return repr([c.model_dump_json() for c in await request_chain(request_id, user, conn)])

            return read

        def old_answer() -> Callable[[], Awaitable[str]]:
            """A decision's answer before: the task re-read by the session after the commit (a new transaction)."""

            async def read() -> str:
                async with uow() as u:
                    await u.session.execute(text("SELECT 1"))  # stands for the decision, committed
                    await u.commit()
                    row = await core_task_row(u.session, task_id)
                    return task_read(row, steps=chain_steps).model_dump_json()

            return read

        def new_answer() -> Callable[[], Awaitable[str]]:
            """Now: once committed (the session gave its connection back), one statement on a read connection."""

            async def read() -> str:
                async with uow() as u:
                    await u.session.execute(text("SELECT 1"))
                    await u.commit()
                    async with read_connection(engine) as conn:  # the pool's only connection: it was given back
                        row = await task_row_now(conn, task_id)
                    return task_read(row, steps=chain_steps).model_dump_json()

            return read

        async with factory() as session:
            of_task = "SELECT steps FROM approval_chain WHERE id = (SELECT chain_id FROM approval_task WHERE id = :t)"
            chain_steps = (await session.execute(text(of_task), {"t": task_id})).scalar_one()
        cases = {
            "decision's answer": (old_answer(), new_answer()),
            "task, named": (old_task(named), new_task(named)),
            "task, delegate": (old_task(delegate), new_task(delegate)),
            "chain, named": (old_chain(named), new_chain(named)),
            "chain, delegate": (old_chain(delegate), new_chain(delegate)),
        }
        for name, (old, new) in cases.items():
            assert await old() == await new(), name
        for old, new in (old_task(stranger), new_task(stranger)), (old_chain(stranger), new_chain(stranger)):
            for read in old, new:
                try:
                    await read()
                    raise AssertionError("a stranger saw it")
                except NotFound:
                    pass
        print("the same answers, byte for byte, for every case; the same 404 for a stranger")
        results: dict[str, tuple[list[float], list[float]]] = {}
        for _ in range(rounds):
            for name, (old, new) in cases.items():
                for how, read in (("uow", old), ("conn", new)):
                    c0, s0 = time.process_time(), backend_cpu(pid)
                    for _ in range(n):
                        await read()
                    client, backend = results.setdefault(f"{name}, {how}", ([], []))
                    client.append((time.process_time() - c0) / n * 1000)
                    backend.append((backend_cpu(pid) - s0) / n * 1000)
        await engine.dispose()
    print(f"ms per read, medians of {rounds} rounds of {n}; load {os.getloadavg()[0]:.1f}")
    for key, (client, backend) in results.items():
        print(f"  {key:<22} client {statistics.median(client):6.3f}   backend {statistics.median(backend):6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
