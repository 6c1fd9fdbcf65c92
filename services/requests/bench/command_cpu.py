"""CPU of the requests service's command path, SQLAlchemy Core against raw asyncpg (not a test).

Two operations against a private, migrated database of the current profile's PostgreSQL, each in one
unit of work as the commands run them:

- ``create``: ``next_number``, ``add`` of a new draft (the request's row and revision 1), commit;
- ``command``: ``get(for_update=True)``, a domain change (an edit of the draft: a new version and an
  updated revision), ``save``, commit: what submit, revise, cancel, the approval consumptions and close
  ask of the repository.

Each with this checkout's ``RequestRepository`` (raw asyncpg through ``driver_connection``) and with
the Core repository it replaced (copied below), alternated round by round in the same run. Before
timing, both paths create and change a request the same way and the bench asserts that the stored rows
(but their ids, numbers and timestamps) and the loaded aggregates are equal. Reported: client CPU (this
process) and backend CPU (``/proc`` of the connection's PostgreSQL process) per operation, medians.

    source deploy/env.sh && .venv/bin/python services/requests/bench/command_cpu.py --n 200 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

import backoffice_requests
from backoffice_common.db import make_session_factory
from backoffice_common.testing import private_database
from backoffice_requests.domain.content import LineInput, make_content
from backoffice_requests.domain.lifecycle import Status
from backoffice_requests.domain.model import Actor, Person, PurchaseRequest
from backoffice_requests.domain.money import format_quantity
from backoffice_requests.models import purchase_request, request_number_seq, request_revision
from backoffice_requests.repository.requests import RequestRepository
from backoffice_requests.repository.serialization import content_from_json, content_to_json

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_requests.__file__).parent / "migrations"
ACTOR = Actor("requester", "R", "requester")
TODAY = date(2026, 1, 5)


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class CoreRequestRepository:
    """The SQLAlchemy Core repository this bench compares with (as it was before the raw statements)."""

    def __init__(self, session: AsyncSession, *, track: Callable[[Any], None] = lambda _: None) -> None:
        self.session = session
        self._track = track

    async def next_number(self) -> str:
        value = await self.session.scalar(select(request_number_seq.next_value()))
        return f"PR-{int(value or 0):06d}"

    async def get(self, request_id: str, *, for_update: bool = False) -> PurchaseRequest | None:
        """The request at its current revision; ``for_update`` serialises writers of one request."""
        stmt = select(purchase_request).where(purchase_request.c.id == request_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).mappings().one_or_none()
        if row is None:
            return None
        content: dict[str, Any] = (
            await self.session.execute(
                select(request_revision.c.content).where(
                    request_revision.c.request_id == request_id, request_revision.c.revision == row["revision"]
                )
            )
        ).scalar_one()
        request = PurchaseRequest(
            id=row["id"],
            number=row["number"],
            requester=Person(
                row["requester_id"], row["requester_name"], row["requester_email"], row["requester_department"]
            ),
            status=Status(row["status"]),
            revision=row["revision"],
            content=content_from_json(content),
            version=row["version"],
            received={int(k): Decimal(v) for k, v in row["received"].items()},
        )
        self._track(request)
        return request

    async def ids_of_vendor(self, vendor_id: str, *, statuses: Iterable[str]) -> list[str]:
        """The ids of ``vendor_id``'s requests in one of ``statuses``, oldest first."""
        rows = await self.session.execute(
            select(purchase_request.c.id)
            .where(purchase_request.c.vendor_id == vendor_id, purchase_request.c.status.in_(list(statuses)))
            .order_by(purchase_request.c.created_at, purchase_request.c.id)
        )
        return [str(request_id) for request_id in rows.scalars().all()]

    async def add(self, request: PurchaseRequest, *, actor: Actor) -> None:
        await self.session.execute(insert(purchase_request).values(id=request.id, **self._row(request)))
        await self._insert_revisions(request, actor)
        self._track(request)

    async def save(self, request: PurchaseRequest, *, actor: Actor) -> None:
        await self.session.execute(
            update(purchase_request)
            .where(purchase_request.c.id == request.id)
            .values(**self._row(request), updated_at=func.now())
        )
        await self._insert_revisions(request, actor)

    async def _insert_revisions(self, request: PurchaseRequest, actor: Actor) -> None:
        if request.draft_edited and not request.new_revisions:
            await self.session.execute(
                update(request_revision)
                .where(request_revision.c.request_id == request.id, request_revision.c.revision == request.revision)
                .values(content=content_to_json(request.content), created_by=actor.as_dict())
            )
            request.draft_edited = False
        if request.new_revisions:
            # Only the current revision's content is held by the aggregate; earlier new ones were superseded.
            await self.session.execute(
                insert(request_revision).values(
                    request_id=request.id,
                    revision=request.revision,
                    content=content_to_json(request.content),
                    created_by=actor.as_dict(),
                )
            )
            request.new_revisions.clear()

    @staticmethod
    def _row(request: PurchaseRequest) -> dict[str, Any]:
        c = request.content
        return {
            "number": request.number,
            "requester_id": request.requester.id,
            "requester_name": request.requester.name,
            "requester_email": request.requester.email,
            "requester_department": request.requester.department,
            "status": request.status.value,
            "revision": request.revision,
            "version": request.version,
            "title": c.title,
            "vendor_id": c.vendor_id,
            "department": c.department,
            "currency": c.currency,
            "total": c.total,
            "received": {str(k): format_quantity(v) for k, v in request.received.items()},
        }


Repo = Callable[[AsyncSession], Any]


def new_draft(number: str) -> PurchaseRequest:
    content = make_content(
        title="Laptops",
        description="for the new team",
        vendor_id="acme",
        currency="EUR",
        cost_center="CC-1",
        department="it",
        category="hardware",
        needed_by=date(2026, 3, 1),
        lines=[LineInput(f"laptop {i}", Decimal("2"), "pcs", Decimal("1199.90"), f"SKU-{i}") for i in range(3)],
        today=TODAY,
    )
    requester = Person("requester", "R", "r@x.test", "it")
    return PurchaseRequest.draft(id=str(uuid.uuid4()), number=number, requester=requester, content=content, actor=ACTOR)


async def create(factory: async_sessionmaker[AsyncSession], repo: Repo) -> str:
    async with factory() as session:
        repository = repo(session)
        request = new_draft(await repository.next_number())
        await repository.add(request, actor=ACTOR)
        await session.commit()
        return request.id


async def command(factory: async_sessionmaker[AsyncSession], repo: Repo, request_id: str, i: int) -> None:
    async with factory() as session:
        repository = repo(session)
        request = await repository.get(request_id, for_update=True)
        request.update_draft({"title": f"Laptops {i}"}, today=TODAY, actor=ACTOR)
        await repository.save(request, actor=ACTOR)
        await session.commit()


async def stored(factory: async_sessionmaker[AsyncSession], request_id: str) -> tuple[dict[str, Any], list[Any]]:
    async with factory() as session:
        row = dict(
            (await session.execute(select(purchase_request).where(purchase_request.c.id == request_id)))
            .mappings()
            .one()
        )
        revisions = (
            await session.execute(
                select(request_revision.c.revision, request_revision.c.content, request_revision.c.created_by)
                .where(request_revision.c.request_id == request_id)
                .order_by(request_revision.c.revision)
            )
        ).all()
    for volatile in ("id", "number", "created_at", "updated_at"):
        row.pop(volatile)
    return row, [tuple(r) for r in revisions]


async def same_results(factory: async_sessionmaker[AsyncSession]) -> bool:
    """Both paths store the same rows for the same create and commands, and load the same aggregate."""
    ids = {}
    for name, repo in (("core", CoreRequestRepository), ("raw", RequestRepository)):
        ids[name] = await create(factory, repo)
        for i in range(3):
            await command(factory, repo, ids[name], i)
    if await stored(factory, ids["core"]) != await stored(factory, ids["raw"]):
        return False
    async with factory() as session:
        core = await CoreRequestRepository(session).get(ids["raw"])
        raw = await RequestRepository(session).get(ids["raw"])
        await session.rollback()
    return core == raw and core is not None and core.received == raw.received


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        assert await same_results(factory), "the raw and Core paths stored or loaded different values"
        targets = {
            name: await create(factory, repo)
            for name, repo in (("core", CoreRequestRepository), ("raw", RequestRepository))
        }

        def creating(repo: Repo) -> Callable[[int], Awaitable[None]]:
            async def one(i: int) -> None:
                await create(factory, repo)

            return one

        def commanding(repo: Repo, target: str) -> Callable[[int], Awaitable[None]]:
            async def one(i: int) -> None:
                await command(factory, repo, target, i)

            return one

        ops = {
            ("create", "core"): creating(CoreRequestRepository),
            ("create", "raw"): creating(RequestRepository),
            ("command", "core"): commanding(CoreRequestRepository, targets["core"]),
            ("command", "raw"): commanding(RequestRepository, targets["raw"]),
        }
        results: dict[tuple[str, str], tuple[list[float], list[float]]] = {k: ([], []) for k in ops}
        for op in ops.values():  # warm-up: statement caches, the pool's one connection
            for i in range(30):
                await op(i)
        for r in range(rounds):
            for k, op in ops.items():
                c0, s0 = time.process_time(), backend_cpu(pid)
                for i in range(n):
                    await op(r * n + i)
                results[k][0].append((time.process_time() - c0) / n * 1000)
                results[k][1].append((backend_cpu(pid) - s0) / n * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"requests command path, {rounds} x {n} per variant, alternated; load {load[0]:.2f}/{load[1]:.2f}")
    print(f"{'':20}{'client ms':>10}{'backend ms':>11}")
    for (what, how), (client, server) in results.items():
        print(f"  {what:8} {how:9}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")
    for what in ("create", "command"):
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
