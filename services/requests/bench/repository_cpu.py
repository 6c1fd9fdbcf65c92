"""CPU of the requests service's hot repository paths, SQLAlchemy Core against raw asyncpg (not a test).

Two operations against a private, migrated database of the current profile's PostgreSQL:

- ``read``: what ``GET /requests/{id}`` asks of the database for an approver (the request's row,
  whether the user is assigned, the revision's content, the timeline's entries), in one read-only
  unit of work;
- ``write``: a command's Idempotency-Key claim, one timeline append and the stored answer, committed.

Each is run with the repositories of this checkout (raw asyncpg through ``driver_connection``) and
with the SQLAlchemy Core statements they replaced (copied below), alternated round by round in the
same run, so the machine's load hits both alike. Reported: client CPU (this process) and backend CPU
(``/proc`` of the connection's PostgreSQL process) per operation, medians of ``--rounds`` rounds.

    source deploy/env.sh && .venv/bin/python services/requests/bench/repository_cpu.py --n 300 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import exists, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

import backoffice_requests
from backoffice_common.db import make_session_factory
from backoffice_common.events import new_event
from backoffice_common.testing import private_database
from backoffice_requests.models import (
    approver_assignment,
    idempotency_record,
    purchase_request,
    request_revision,
    timeline_entry,
)
from backoffice_requests.repository.facts import ApproverRepository
from backoffice_requests.repository.idempotency import IdempotencyRepository
from backoffice_requests.repository.reads import RequestReads
from backoffice_requests.repository.timeline import TimelineRepository

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_requests.__file__).parent / "migrations"


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def read_core(session: AsyncSession, request_id: str) -> Any:
    row = (await session.execute(select(purchase_request).where(purchase_request.c.id == request_id))).mappings().one()
    a = approver_assignment
    await session.scalar(select(exists().where(a.c.request_id == request_id, a.c.user_id == "approver")))
    r = request_revision
    await session.scalar(select(r.c.content).where(r.c.request_id == request_id, r.c.revision == row["revision"]))
    t = timeline_entry
    return [
        dict(e)
        for e in (await session.execute(select(t).where(t.c.request_id == request_id).order_by(t.c.id))).mappings()
    ]


async def read_raw(session: AsyncSession, request_id: str) -> Any:
    row = await RequestReads(session).row(request_id)
    assert row is not None
    await ApproverRepository(session).is_assigned(request_id=request_id, user_id="approver")
    await RequestReads(session).content(request_id, row["revision"])
    return await TimelineRepository(session).entries(request_id=request_id)


async def write_core(session: AsyncSession, request_id: str, i: int) -> None:
    t = idempotency_record
    key = f"core-{i}-{uuid.uuid4().hex}"
    await session.scalar(
        pg_insert(t)
        .values(user_id="u", key=key, fingerprint="f" * 64)
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(t.c.key)
    )
    event = new_event(type="purchase_request.draft_updated", service="requests", subject=request_id, data={"i": i})
    await session.execute(
        pg_insert(timeline_entry)
        .values(
            request_id=request_id,
            event_id=event.id,
            event_type=event.type,
            source=event.source,
            actor={"id": "u", "name": "U", "role": "requester"},
            outcome="applied",
            note="",
            status_after="draft",
            data=event.data,
            occurred_at=event.time,
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    await session.execute(
        update(t)
        .where(t.c.user_id == "u", t.c.key == key)
        .values(status_code=200, body={"id": request_id, "i": i}, headers={"ETag": '"1"'})
    )


async def write_raw(session: AsyncSession, request_id: str, i: int) -> None:
    key = f"raw-{i}-{uuid.uuid4().hex}"
    idempotency = IdempotencyRepository(session)
    await idempotency.claim(user_id="u", key=key, fingerprint="f" * 64)
    event = new_event(type="purchase_request.draft_updated", service="requests", subject=request_id, data={"i": i})
    await TimelineRepository(session).add(
        request_id=request_id,
        event=event,
        actor={"id": "u", "name": "U", "role": "requester"},
        outcome="applied",
        note="",
        status_after="draft",
    )
    await idempotency.store(
        user_id="u", key=key, status_code=200, body={"id": request_id, "i": i}, headers={"ETag": '"1"'}
    )


async def seed(factory: async_sessionmaker[AsyncSession], request_id: str) -> None:
    now = datetime.now(UTC)
    row: dict[str, Any] = {
        "id": request_id,
        "number": request_id[:20],
        "requester_id": "requester",
        "requester_name": "R",
        "requester_email": "r@x.test",
        "requester_department": "it",
        "status": "submitted",
        "revision": 1,
        "version": 1,
        "title": "Laptops",
        "vendor_id": "acme",
        "department": "it",
        "currency": "EUR",
        "total": Decimal("1200.00"),
        "received": {},
    }
    content = {"title": "Laptops", "vendor_id": "acme", "lines": [{"line_no": 1, "description": "x"}]}
    async with factory() as session, session.begin():
        await session.execute(insert(purchase_request).values(**row))
        await session.execute(
            insert(request_revision).values(request_id=request_id, revision=1, content=content, created_by={})
        )
        await session.execute(
            insert(approver_assignment).values(
                request_id=request_id, user_id="approver", task_id="t1", request_created_at=now
            )
        )
        for k in range(8):  # a flow's timeline: about eight entries when a request is read
            data = {"k": k, "note": "x" * 100}
            event = new_event(type="purchase_request.draft_updated", service="requests", subject=request_id, data=data)
            entry = {"request_id": request_id, "event_id": event.id, "event_type": event.type, "source": event.source}
            entry |= {"actor": {"id": "u"}, "outcome": "applied", "note": "", "status_after": "submitted"}
            await session.execute(insert(timeline_entry).values(**entry, data=event.data, occurred_at=event.time))


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        read_id, write_id = str(uuid.uuid4()), str(uuid.uuid4())
        await seed(factory, read_id)
        await seed(factory, write_id)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())

        async def reading(fn: Callable[[AsyncSession, str], Awaitable[Any]]) -> Callable[[int], Awaitable[None]]:
            async def one(i: int) -> None:
                async with factory() as session:
                    await fn(session, read_id)
                    await session.rollback()

            return one

        async def writing(fn: Callable[[AsyncSession, str, int], Awaitable[None]]) -> Callable[[int], Awaitable[None]]:
            async def one(i: int) -> None:
                async with factory() as session:
                    await fn(session, write_id, i)
                    await session.commit()

            return one

        ops = {
            ("read", "core"): await reading(read_core),
            ("read", "raw"): await reading(read_raw),
            ("write", "core"): await writing(write_core),
            ("write", "raw"): await writing(write_raw),
        }
        assert await _same_reads(factory, read_id)
        results: dict[tuple[str, str], tuple[list[float], list[float], list[float]]] = {k: ([], [], []) for k in ops}
        for op in ops.values():  # warm-up: statement caches, the pool's one connection
            for i in range(50):
                await op(-1 - i)
        for r in range(rounds):
            for k, op in ops.items():
                c0, s0, w0 = time.process_time(), backend_cpu(pid), time.perf_counter()
                for i in range(n):
                    await op(r * n + i)
                client, server, wall = results[k]
                client.append((time.process_time() - c0) / n * 1000)
                server.append((backend_cpu(pid) - s0) / n * 1000)
                wall.append((time.perf_counter() - w0) / n * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"requests repository paths, {rounds} x {n} per variant, alternated; load {load[0]:.2f}/{load[1]:.2f}")
    print(f"{'':28}{'client ms':>10}{'backend ms':>11}{'wall ms':>9}")
    for (what, how), (client, server, wall) in results.items():
        c, s, w = statistics.median(client), statistics.median(server), statistics.median(wall)
        print(f"  {what:6} {how:19}{c:10.3f}{s:11.3f}{w:9.3f}")
    for what in ("read", "write"):
        core, raw = results[(what, "core")], results[(what, "raw")]
        ratio_c = statistics.median(raw[0]) / statistics.median(core[0])
        ratio_s = statistics.median(raw[1]) / statistics.median(core[1]) if statistics.median(core[1]) else float("nan")
        print(f"  {what}: raw/core client {ratio_c:.2f}, backend {ratio_s:.2f}")


async def _same_reads(factory: async_sessionmaker[AsyncSession], request_id: str) -> bool:
    """The raw reads answer what the Core reads did (same keys, same values)."""
    async with factory() as session:
        core = await read_core(session, request_id)
        raw = await read_raw(session, request_id)
        core_row = (
            (await session.execute(select(purchase_request).where(purchase_request.c.id == request_id)))
            .mappings()
            .one()
        )
        raw_row = await RequestReads(session).row(request_id)
        await session.rollback()
    return bool(core == raw and dict(core_row) == raw_row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
