"""CPU of approvals' next hot repository paths, SQLAlchemy Core against raw asyncpg (not a test).

The profile's next callers after the task saves and the default list: ``ChainRepository.of_task``
(with ``get``: every decision, reminder and escalation loads a chain by a task, here with the lock
and ``open_only`` as decisions and escalations do), ``of_request`` (locked, as a submission, a
revision and a withdrawal take a request's chains; the ids' statement, the chains are read by ``get``
either way), ``claim_due_timers`` (the timer job, per timer
fired), ``AbsenceRepository.active_at`` and ``DirectoryRepository.load`` (most use cases load both),
each in a unit of work that is rolled back, and the timers of an assigned then decided task
(``TimerRepository.schedule`` of its reminder and escalation, ``close_for_task``; committed),
against a private, migrated database of the current
profile's PostgreSQL (a directory of 60 approvers, 20 absences of which 5 are active now, a chain of
3 tasks, 3 due timers). This checkout's repositories (raw asyncpg through ``driver_connection``) and
the Core statements they replaced (copied below) are alternated round by round in the same run; before
timing, the bench asserts that both paths answer the same values. Reported: client CPU (this process)
and backend CPU (``/proc`` of the connection's PostgreSQL process) per operation, medians.

    source deploy/env.sh && .venv/bin/python services/approvals/bench/reads_cpu.py --n 200 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

import backoffice_approvals
from backoffice_approvals.domain.chain import Chain, Task
from backoffice_approvals.domain.people import Absence, Approver, Directory, Person
from backoffice_approvals.domain.plan import PlannedStep
from backoffice_approvals.models import absence, approval_chain, approval_task, approval_timer, approver
from backoffice_approvals.repository.chains import ChainRepository
from backoffice_approvals.repository.people import AbsenceRepository, DirectoryRepository
from backoffice_approvals.repository.timers import TimerRepository, claim_due_timers
from backoffice_common.db import make_session_factory
from backoffice_common.testing import private_database

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_approvals.__file__).parent / "migrations"


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# The Core statements the raw ones replaced (as they were).


def core_task_from_row(row: Any) -> Task:
    def person(data: Any) -> Person | None:
        return Person.from_dict(data) if data else None

    return Task(
        id=row.id, step_index=row.step_index, stage=row.stage, approver=Person.from_dict(row.approver),
        assignee=Person.from_dict(row.assignee), on_behalf_of=person(row.on_behalf_of), due_at=row.due_at,
        remind_at=row.remind_at, created_at=row.created_at, status=row.status, decision=row.decision,
        comment=row.comment, decided_by=person(row.decided_by), decided_on_behalf_of=person(row.decided_on_behalf_of),
        decided_at=row.decided_at, closed_reason=row.closed_reason, escalated_from=row.escalated_from,
    )  # fmt: skip


async def core_get(session: AsyncSession, chain_id: str, *, lock: bool) -> Chain | None:
    query = select(approval_chain).where(approval_chain.c.id == chain_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        return None
    tasks = await session.execute(
        select(approval_task).where(approval_task.c.chain_id == chain_id).order_by(approval_task.c.created_at)
    )
    return Chain(
        id=row.id, request_id=row.request_id, revision=row.revision, requester=Person.from_dict(row.requester),
        snapshot=row.snapshot, steps=[PlannedStep.from_dict(s) for s in row.steps], policy_version=row.policy_version,
        status=row.status, reminder_share=float(row.reminder_share), tasks=[core_task_from_row(t) for t in tasks.all()],
    )  # fmt: skip


async def core_of_task(session: AsyncSession, task_id: str) -> Chain | None:
    query = select(approval_task.c.chain_id, approval_task.c.status).where(approval_task.c.id == task_id)
    row = (await session.execute(query)).first()
    if row is None or row.status != "open":
        return None
    return await core_get(session, row.chain_id, lock=True)


async def core_of_request(session: AsyncSession, request_id: str) -> list[Chain]:
    query = (
        select(approval_chain.c.id)
        .where(approval_chain.c.request_id == request_id)
        .order_by(approval_chain.c.revision)
        .with_for_update()
    )
    repository = ChainRepository(session, track=lambda _: None)
    chains = [await repository.get(row.id) for row in (await session.execute(query)).all()]
    return [c for c in chains if c is not None]


async def core_claim_due(session: AsyncSession, now: datetime) -> list[Any]:
    query = (
        select(approval_timer)
        .where(approval_timer.c.fired_at.is_(None), approval_timer.c.fire_at <= now)
        .order_by(approval_timer.c.fire_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).all())


async def core_active_at(session: AsyncSession, at: datetime) -> list[Absence]:
    query = select(absence).where(absence.c.cancelled_at.is_(None), absence.c.ends_at > at, absence.c.starts_at <= at)
    return [
        Absence(r.user_id, r.starts_at, r.ends_at, r.delegate_id, id=r.id, cancelled_at=r.cancelled_at)
        for r in (await session.execute(query)).all()
    ]


async def core_load(session: AsyncSession) -> Directory:
    return Directory.of(Approver.of(r) for r in (await session.execute(select(approver))).all())


async def core_schedule(session: AsyncSession, task_id: str, at: datetime) -> None:
    from sqlalchemy import update
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    for kind, fire_at in (("reminder", at + timedelta(days=1)), ("escalation", at + timedelta(days=2))):
        await session.execute(
            pg_insert(approval_timer)
            .values(kind=kind, ref_id=task_id, fire_at=fire_at)
            .on_conflict_do_nothing(index_elements=["kind", "ref_id"])
        )
    t = approval_timer
    await session.execute(
        update(t)
        .where(t.c.kind.in_(("reminder", "escalation")), t.c.ref_id == task_id, t.c.fired_at.is_(None))
        .values(fired_at=at)
    )


# This checkout's repositories.


async def raw_schedule(session: AsyncSession, task_id: str, at: datetime) -> None:
    timers = TimerRepository(session)
    await timers.schedule(kind="reminder", ref_id=task_id, fire_at=at + timedelta(days=1))
    await timers.schedule(kind="escalation", ref_id=task_id, fire_at=at + timedelta(days=2))
    await timers.close_for_task(task_id, now=at)


async def raw_of_task(session: AsyncSession, task_id: str) -> Chain | None:
    return await ChainRepository(session, track=lambda _: None).of_task(task_id, lock=True, open_only=True)


async def raw_of_request(session: AsyncSession, request_id: str) -> list[Chain]:
    return await ChainRepository(session, track=lambda _: None).of_request(request_id, lock=True)


async def raw_claim_due(session: AsyncSession, now: datetime) -> list[Any]:
    return list(await claim_due_timers(session=session, now=now, limit=1))


async def raw_active_at(session: AsyncSession, at: datetime) -> list[Absence]:
    return await AbsenceRepository(session).active_at(at)


async def raw_load(session: AsyncSession) -> Directory:
    return await DirectoryRepository(session).load()


async def seed(factory: async_sessionmaker[AsyncSession]) -> str:
    now = datetime.now(UTC)
    people = [
        {
            "id": f"user-{i}", "name": f"User {i}", "email": f"user{i}@x.test",
            "manager_id": f"user-{i // 5}" if i else None, "department": f"dept-{i % 6}",
            "head_of": [f"dept-{i}"] if i < 6 else [], "groups": ["buyers"] if i % 7 == 0 else [],
            "limit_amount": Decimal("5000.0000") if i % 3 == 0 else None,
            "limit_currency": "EUR" if i % 3 == 0 else None, "active": i % 11 != 5, "language": "de" if i % 2 else "en",
        }
        for i in range(60)
    ]  # fmt: skip
    person = {"id": "user-1", "name": "User 1", "email": "user1@x.test", "language": "de"}
    chain_id, request_id = str(uuid.uuid4()), str(uuid.uuid4())
    task_ids = [str(uuid.uuid4()) for _ in range(3)]
    async with factory() as session, session.begin():
        await session.execute(insert(approver), people)
        for i in range(20):
            starts = now - timedelta(days=1) if i < 5 else now + timedelta(days=i)
            await session.execute(
                insert(absence).values(
                    id=str(uuid.uuid4()), user_id=f"user-{i}", delegate_id=f"user-{i + 20}", starts_at=starts,
                    ends_at=starts + timedelta(days=3), created_by="admin",
                )
            )  # fmt: skip
        steps = [
            {"index": k, "name": f"step {k}", "stage": k, "mode": "all", "required": 1, "approvers": [person],
             "due_seconds": 86400, "reminder_share": 0.5}
            for k in range(3)
        ]  # fmt: skip
        await session.execute(
            insert(approval_chain).values(
                id=chain_id, request_id=request_id, revision=1, requester=person, snapshot={"total": "10.00"},
                steps=steps, notes=[], policy_version=1, reminder_share=Decimal("0.5000"), status="in_progress",
            )
        )  # fmt: skip
        for k, task_id in enumerate(task_ids):
            await session.execute(
                insert(approval_task).values(
                    id=task_id, chain_id=chain_id, request_id=request_id, step_index=k, stage=k, approver=person,
                    assignee_id="user-1", assignee=person, on_behalf_of=None, status="open" if k else "decided",
                    decision=None if k else "approve", decided_by=None if k else person, decided_at=None if k else now,
                    due_at=now + timedelta(days=2), remind_at=now + timedelta(days=1),
                    created_at=now + timedelta(seconds=k),
                )
            )  # fmt: skip
        for k in range(3):
            await session.execute(
                insert(approval_timer).values(kind="reminder", ref_id=task_ids[k], fire_at=now - timedelta(minutes=k))
            )
    return task_ids[1]


def stripped(chain: Chain | None) -> Any:
    assert chain is not None
    return (chain.id, chain.request_id, chain.revision, chain.requester, chain.snapshot, chain.steps, chain.status,
            chain.policy_version, chain.reminder_share, chain.tasks)  # fmt: skip


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        task_id = await seed(factory)
        now = datetime.now(UTC)

        async with factory() as session:  # both paths answer the same
            assert stripped(await core_of_task(session, task_id)) == stripped(await raw_of_task(session, task_id))
            request_id = (await session.execute(text("SELECT request_id FROM approval_chain"))).scalar_one()
            core_chains, raw_chains = (
                await core_of_request(session, request_id),
                await raw_of_request(session, request_id),
            )
            assert [stripped(c) for c in core_chains] == [stripped(c) for c in raw_chains]
            assert len(raw_chains) == 1
            await session.rollback()
        async with factory() as session:
            core_timers = [(t.id, t.kind, t.ref_id, t.fire_at, t.attempts) for t in await core_claim_due(session, now)]
            await session.rollback()
        async with factory() as session:
            raw_timers = [(t.id, t.kind, t.ref_id, t.fire_at, t.attempts) for t in await raw_claim_due(session, now)]
            await session.rollback()
        assert core_timers == raw_timers, (core_timers, raw_timers)
        assert len(core_timers) == 1
        async with factory() as session:
            core_absences, raw_absences = await core_active_at(session, now), await raw_active_at(session, now)
            assert sorted(core_absences, key=lambda a: a.id) == sorted(raw_absences, key=lambda a: a.id)
            assert len(core_absences) == 5
            assert await core_load(session) == await raw_load(session)
            assert len((await raw_load(session)).approvers) == 60
            await session.rollback()

        async def timer_rows(prefix: str) -> list[tuple[Any, ...]]:
            async with factory() as session:
                rows = await session.execute(
                    text(
                        "SELECT kind, substr(ref_id, 6), fire_at, fired_at FROM approval_timer"
                        " WHERE ref_id LIKE :p ORDER BY ref_id, kind"
                    ),
                    {"p": prefix + "%"},
                )
                return [tuple(r) for r in rows]

        for how, fn in (("core-", core_schedule), ("raw--", raw_schedule)):  # both store the same timers
            async with factory() as session:
                await fn(session, how + "t-1", now)
                await fn(session, how + "t-1", now)  # again: the first is kept, closed once
                await session.commit()
        assert await timer_rows("core-") == await timer_rows("raw--")
        assert len(await timer_rows("core-")) == 2

        def scheduling(fn: Callable[[AsyncSession, str, datetime], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
            async def one() -> None:
                async with factory() as session:
                    await fn(session, str(uuid.uuid4()), now)
                    await session.commit()

            return one

        def reading(fn: Callable[[AsyncSession], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
            async def one() -> None:
                async with factory() as session:
                    await fn(session)
                    await session.rollback()

            return one

        ops = {
            ("of_task", "core"): reading(lambda s: core_of_task(s, task_id)),
            ("of_task", "raw"): reading(lambda s: raw_of_task(s, task_id)),
            ("of_request", "core"): reading(lambda s: core_of_request(s, request_id)),
            ("of_request", "raw"): reading(lambda s: raw_of_request(s, request_id)),
            ("claim_due", "core"): reading(lambda s: core_claim_due(s, now)),
            ("claim_due", "raw"): reading(lambda s: raw_claim_due(s, now)),
            ("active_at", "core"): reading(lambda s: core_active_at(s, now)),
            ("active_at", "raw"): reading(lambda s: raw_active_at(s, now)),
            ("load", "core"): reading(core_load),
            ("load", "raw"): reading(raw_load),
            ("timers", "core"): scheduling(core_schedule),
            ("timers", "raw"): scheduling(raw_schedule),
        }
        results: dict[tuple[str, str], tuple[list[float], list[float]]] = {k: ([], []) for k in ops}
        for op in ops.values():  # warm-up
            for _ in range(30):
                await op()
        for _ in range(rounds):
            for k, op in ops.items():
                c0, s0 = time.process_time(), backend_cpu(pid)
                for _ in range(n):
                    await op()
                results[k][0].append((time.process_time() - c0) / n * 1000)
                results[k][1].append((backend_cpu(pid) - s0) / n * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(
        f"approvals repository paths (a rolled-back unit of work each), {rounds} x {n}, alternated;"
        f" load {load[0]:.2f}/{load[1]:.2f}"
    )
    print(f"{'':22}{'client ms':>10}{'backend ms':>11}")
    for (what, how), (client, server) in results.items():
        print(f"  {what:10} {how:9}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")
    for what in ("of_task", "of_request", "claim_due", "active_at", "load", "timers"):
        core, raw = results[(what, "core")], results[(what, "raw")]
        c = statistics.median(raw[0]) / statistics.median(core[0])
        s = statistics.median(raw[1]) / statistics.median(core[1]) if statistics.median(core[1]) else float("nan")
        print(f"  {what}: raw/core client {c:.2f}, backend {s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
