"""CPU of the sixth round's changes to the requests service's unit-of-work paths, old against new (not a test).

Against a private, migrated database of the current profile's PostgreSQL, in one process, each operation
in a unit of work of the requests app as the service builds it (``create_app`` + its database), the old
and new variant alternated round by round:

- ``answer``: a command's answer (every command: create, submit, receipts, close...): ``request_read``
  (the row, whether the reader is an approver, the revision's content, the timeline: three or four
  statements) against ``command_answer`` (``request_snapshot``, one statement on the unit of work's
  connection); the reader is an approver, so the old read runs all four;
- ``remember``: ``ApproverRepository.remember`` (every ``approval.task_assigned``): the Core insert it was
  (copied below) against the raw statement, committed;
- ``deferred``: ``DeferredEventRepository.of_request`` (after every applied fact; almost always empty):
  the Core select it was against the raw statement.

Before timing, both variants give the same model (answer), store the same rows (remember) and read the
same events (deferred, with and without deferred events), which is asserted. Reported: client CPU (this
process) and the CPU of the database's backends (``/proc``), per operation, medians of ``--rounds``.

    source deploy/env.sh && .venv/bin/python services/requests/bench/fact_cpu.py --n 200 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

import backoffice_requests
from backoffice_common.app import _open_database
from backoffice_common.auth import User
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.testing import private_database
from backoffice_requests.main import build_spec, create_app
from backoffice_requests.models import approver_assignment, deferred_event, purchase_request, vendor
from backoffice_requests.schemas import RequestCreate
from backoffice_requests.service import queries
from backoffice_requests.service import requests as service
from backoffice_requests.service.uow import RequestsUnitOfWork
from backoffice_requests.settings import Settings

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_requests.__file__).parent / "migrations"
SECRET = "bench-fact-secret-" + "x" * 30


async def core_remember(uow: RequestsUnitOfWork, *, request_id: str, user_id: str, task_id: str) -> None:
    """``ApproverRepository.remember`` as it was (SQLAlchemy Core)."""
    await uow.session.execute(
        pg_insert(approver_assignment)
        .values(
            request_id=request_id,
            user_id=user_id[:200],
            task_id=task_id,
            request_created_at=select(purchase_request.c.created_at)
            .where(purchase_request.c.id == request_id)
            .scalar_subquery(),
        )
        .on_conflict_do_nothing(index_elements=["request_id", "user_id"])
    )


async def core_deferred(uow: RequestsUnitOfWork, request_id: str) -> list[CloudEvent]:
    """``DeferredEventRepository.of_request`` as it was (SQLAlchemy Core)."""
    rows = await uow.session.execute(
        select(deferred_event.c.envelope)
        .where(deferred_event.c.request_id == request_id)
        .order_by(deferred_event.c.occurred_at)
    )
    return [CloudEvent.model_validate(envelope) for envelope in rows.scalars()]


def backends_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


async def main(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        settings = Settings(
            database_url=url, jwt_secret=SECRET, environment="test", log_level="WARNING", database_pool_size=1
        )
        app = create_app(settings)
        engine = _open_database(app, build_spec(settings), settings)
        uow_factory: Callable[[], RequestsUnitOfWork] = app.state.uow_factory
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        admin = await asyncpg.connect(dsn)
        async with app.state.session_factory() as session, session.begin():
            await session.execute(
                vendor.insert().values(vendor_id="v", legal_name="V", status="active", record={}, record_updated_at="1")
            )
        # a submitted request with a few timeline entries, an approver assigned to it
        requester = User(sub="requester-1", roles=frozenset({"requester"}), name="R", department="ENG")
        body = RequestCreate.model_validate(
            {
                "title": "Laptops",
                "vendor_id": "v",
                "currency": "EUR",
                "cost_center": "CC-1",
                "department": "ENG",
                "category": "hardware",
                "needed_by": "2030-01-31",
                "lines": [{"description": "Laptop", "quantity": "2", "unit": "pcs", "unit_price": "1200.00"}],
            }
        )

        async def new_request() -> str:
            async with uow_factory() as uow:
                request = await service.create_draft(
                    uow=uow, user=requester, data=body, require_known_cost_centre=False
                )
            async with uow_factory() as uow:
                await service.submit(uow=uow, user=requester, request_id=request.id, if_match=None)
            return request.id

        rid = await new_request()
        approver = User(sub="approver-1", roles=frozenset({"approver"}))
        async with uow_factory() as uow:
            await uow.approvers.remember(request_id=rid, user_id=approver.sub, task_id="t-1")
            await uow.commit()

        # the same answers
        async with uow_factory() as uow:
            old = await queries.request_read(uow, user=approver, request_id=rid)
            new = await queries.command_answer(uow, user=approver, request_id=rid)
            assert old.model_dump_json() == new.model_dump_json(), "the answers differ"
        with_deferred, without = await new_request(), await new_request()
        async with uow_factory() as uow:
            for i in range(2):
                event = new_event(type="contract.generated", service="contracts", subject=with_deferred, data={"i": i})
                await uow.deferred.add(request_id=with_deferred, event=event)
            await uow.commit()
        async with uow_factory() as uow:
            for target in (with_deferred, without):
                assert await core_deferred(uow, target) == await uow.deferred.of_request(target)
            assert len(await uow.deferred.of_request(with_deferred)) == 2
        a, b = await new_request(), await new_request()
        async with uow_factory() as uow:
            await core_remember(uow, request_id=a, user_id="same-user", task_id="t")
            await uow.approvers.remember(request_id=b, user_id="same-user", task_id="t")
            await uow.commit()
        rows = await admin.fetch(
            "SELECT a.user_id, a.task_id, a.request_created_at = r.created_at AS created"
            " FROM approver_assignment a JOIN purchase_request r ON r.id = a.request_id"
            " WHERE a.request_id = ANY($1::uuid[]) ORDER BY a.request_id",
            [a, b],
        )
        assert len(rows) == 2, rows
        assert dict(rows[0]) == dict(rows[1]), rows
        assert rows[0]["created"], rows
        print(f"load average {os.getloadavg()[0]:.1f}: old and new give the same answer, rows and events", flush=True)

        async def answer_old() -> None:
            async with uow_factory() as uow:
                await queries.request_read(uow, user=approver, request_id=rid)

        async def answer_new() -> None:
            async with uow_factory() as uow:
                await queries.command_answer(uow, user=approver, request_id=rid)

        targets = [await new_request() for _ in range(2)]

        def remembering(old: bool) -> Callable[[], Awaitable[None]]:
            target = targets[0] if old else targets[1]

            async def one() -> None:
                async with uow_factory() as uow:
                    user = uuid.uuid4().hex
                    if old:
                        await core_remember(uow, request_id=target, user_id=user, task_id="t")
                    else:
                        await uow.approvers.remember(request_id=target, user_id=user, task_id="t")
                    await uow.commit()

            return one

        def deferring(old: bool) -> Callable[[], Awaitable[None]]:
            async def one() -> None:
                async with uow_factory() as uow:
                    await (core_deferred(uow, without) if old else uow.deferred.of_request(without))

            return one

        ops: dict[tuple[str, str], Callable[[], Awaitable[None]]] = {
            ("answer", "old"): answer_old,
            ("answer", "new"): answer_new,
            ("remember", "old"): remembering(True),
            ("remember", "new"): remembering(False),
            ("deferred", "old"): deferring(True),
            ("deferred", "new"): deferring(False),
        }
        db = url.rsplit("/", 1)[1]
        results: dict[tuple[str, str], tuple[list[float], list[float]]] = {k: ([], []) for k in ops}
        for op in ops.values():
            for _ in range(30):
                await op()
        pids = [r[0] for r in await admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", db)]
        for _ in range(rounds):
            for key, op in ops.items():
                c0, s0 = time.process_time(), backends_cpu(pids)
                for _ in range(n):
                    await op()
                results[key][0].append((time.process_time() - c0) / n * 1000)
                results[key][1].append((backends_cpu(pids) - s0) / n * 1000)
        await admin.close()
        await engine.dispose()
    print(f"load average {os.getloadavg()[0]:.1f}; per operation (in its unit of work), medians of {rounds} x {n}")
    print(f"{'':22}{'client ms':>10}{'backend ms':>11}")
    for (what, how), (client, server) in results.items():
        print(f"  {what:9} {how:10}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")
    for what in ("answer", "remember", "deferred"):
        old_c, new_c = (statistics.median(results[what, v][0]) for v in ("old", "new"))
        old_s, new_s = (statistics.median(results[what, v][1]) for v in ("old", "new"))
        print(
            f"  {what}: client {old_c:.3f} -> {new_c:.3f} ms ({new_c / old_c:.2f}); backend {old_s:.3f} -> {new_s:.3f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.rounds))
