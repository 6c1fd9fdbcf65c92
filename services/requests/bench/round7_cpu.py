"""CPU of the seventh round's changes to the requests service, old against new in one run (not a test).

Against a private, migrated database of the current profile's PostgreSQL, in one process, the requests app
as the service builds it (``create_app`` + its database, no Kafka), old and new alternated round by round:

- ``create``, ``submit``: the commands over HTTP in-process (``httpx.ASGITransport``, the app's middlewares
  included, each with an ``Idempotency-Key`` as the flow's driver sends it): FastAPI's own handler (the
  commands' fast paths unregistered: the code before this round) against the route's fast path
  (``api.fast``). Each submit acts on a draft made before its round, outside the timing;
- ``list``: ``GET /requests``' page (a requester with 40 requests, the first page of 50): the unit of
  work's SQLAlchemy Core union (``queries.list_requests``, the code before) against the raw statement on a
  read connection (``queries.list_requests_now``);
- ``timeline``: a request with ``--entries`` timeline entries (among ``--others`` of the other requests)
  read by ``timeline_snapshot`` (the timeline's statement, ``ORDER BY occurred_at, id``) with the index
  ``(request_id, id)`` alone (the migrations') and with ``(request_id, occurred_at, id)`` alone (a candidate
  the bench creates): one connection, each variant in a transaction that drops the other index and is rolled
  back.

Before timing: both handlers give the same answers (status, headers, body but the request's id, number and
times; a problem the same), both lists the same model for five filter shapes, both indexes the same
timeline, which is asserted. Reported: client CPU (this process: the app and the client) and the CPU of the
database's backends (``/proc``), per operation, medians of ``--rounds``.

    source deploy/env.sh && .venv/bin/python services/requests/bench/round7_cpu.py --n 200 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

import backoffice_requests
from backoffice_common.app import _open_database
from backoffice_common.auth import User, mint_token
from backoffice_common.db import read_connection
from backoffice_common.testing import private_database
from backoffice_requests.api.fast import FAST_PATHS
from backoffice_requests.api.requests import get_request
from backoffice_requests.domain.lifecycle import Status
from backoffice_requests.main import build_spec, create_app
from backoffice_requests.models import vendor
from backoffice_requests.repository.reads import timeline_snapshot
from backoffice_requests.service import queries
from backoffice_requests.service.uow import RequestsUnitOfWork
from backoffice_requests.settings import Settings

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_requests.__file__).parent / "migrations"
SECRET = "bench-round7-secret-" + "x" * 30
NEW_INDEX = "CREATE INDEX ix_timeline_entry_request_id_occurred_at_id ON timeline_entry (request_id, occurred_at, id)"
"""The candidate (not merged: it did not pay, docs/performance.md "Seventh round: requests"); the migrations
create ``(request_id, id)``."""
DRAFT = {
    "title": "Laptops for the new team",
    "description": "Two laptops and a dock",
    "vendor_id": "v",
    "currency": "EUR",
    "cost_center": "CC-100",
    "department": "ENG",
    "category": "hardware",
    "needed_by": "2030-01-31",
    "lines": [
        {"description": "Laptop", "quantity": "2", "unit": "pcs", "unit_price": "1200.00", "sku": "LT-14"},
        {"description": "Dock", "quantity": "1", "unit": "pcs", "unit_price": "99.99"},
    ],
}


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


def comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], Any]:
    """An answer but for what differs between two requests (id, number, times) and between two calls."""
    body = response.json()
    request_id = body.get("id", "")
    skip = {"x-correlation-id", "date", "content-length"}
    headers = [(k, v.replace(request_id, "ID") if request_id else v) for k, v in response.headers.items()]
    for key in ("id", "number", "created_at", "updated_at", "correlation_id"):
        body.pop(key, None)
    if body.get("waiting_on"):
        body["waiting_on"].pop("since", None)
    return response.status_code, [h for h in headers if h[0] not in skip], body


async def main(n: int, rounds: int, entries: int, others_entries: int) -> None:
    async with private_database(MIGRATIONS) as url:
        settings = Settings(
            database_url=url,
            jwt_secret=SECRET,
            environment="test",
            log_level="WARNING",
            database_pool_size=2,
            require_known_cost_centre=False,
        )
        app = create_app(settings)
        engine = _open_database(app, build_spec(settings), settings)
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        admin = await asyncpg.connect(dsn)
        async with app.state.session_factory() as session, session.begin():
            await session.execute(
                vendor.insert().values(vendor_id="v", legal_name="V", status="active", record={}, record_updated_at="1")
            )
        token = mint_token(secret=SECRET, sub="requester-1", roles=["requester"], name="R", department="ENG")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        body = json.dumps(DRAFT).encode()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")

        fast_paths = dict(FAST_PATHS)

        def handler(old: bool) -> None:
            """The old code's handler: the route without its fast path (FastAPI's handler, as before this round).
            Not ``dependency_overrides``: with any override set, FastAPI analyses every dependency again per call."""
            FAST_PATHS.clear()
            FAST_PATHS.update({e: p for e, p in fast_paths.items() if not old or e is get_request})

        async def create(old: bool) -> httpx.Response:
            handler(old)
            keyed = {**headers, "Idempotency-Key": uuid.uuid4().hex}
            return await client.post("/requests", headers=keyed, content=body)

        async def submit(old: bool, request_id: str) -> httpx.Response:
            handler(old)
            keyed = {**headers, "Idempotency-Key": uuid.uuid4().hex}
            return await client.post(f"/requests/{request_id}/submit", headers=keyed)

        # the same answers, both handlers
        old_draft, new_draft = await create(True), await create(False)
        assert old_draft.status_code == 201, old_draft.text
        assert comparable(old_draft) == comparable(new_draft), (old_draft.text, new_draft.text)
        old_sub, new_sub = await submit(True, old_draft.json()["id"]), await submit(False, new_draft.json()["id"])
        assert old_sub.status_code == 200, old_sub.text
        assert comparable(old_sub) == comparable(new_sub), (old_sub.text, new_sub.text)
        again_old, again_new = await submit(True, old_draft.json()["id"]), await submit(False, old_draft.json()["id"])
        assert again_old.status_code == 409
        assert comparable(again_old) == comparable(again_new)

        # the list: 40 requests of one requester
        for _ in range(38):
            assert (await create(False)).status_code == 201
        reader = User(sub="requester-1", roles=frozenset({"requester"}))
        uow_factory: Callable[[], RequestsUnitOfWork] = app.state.uow_factory

        async def list_old(where: queries.RequestFilter, limit: int = 50) -> Any:
            async with uow_factory() as uow:
                return await queries.list_requests(uow, user=reader, where=where, cursor=None, limit=limit)

        async def list_new(where: queries.RequestFilter, limit: int = 50) -> Any:
            async with read_connection(engine) as conn:
                return await queries.list_requests_now(conn, user=reader, where=where, cursor=None, limit=limit)

        for where in (
            queries.RequestFilter(),
            queries.RequestFilter(status=Status.DRAFT),
            queries.RequestFilter(status=Status.SUBMITTED),
            queries.RequestFilter(text="laptops", vendor_id="v"),
            queries.RequestFilter(department="OPS"),
        ):
            for limit in (50, 7):
                assert await list_old(where, limit) == await list_new(where, limit), where

        # the timeline: one request with many entries (a few of them recorded out of order) in a table of
        # --others entries of every other request, so that its rows are a few of the table's, as in a service
        insert = (
            "INSERT INTO timeline_entry (request_id, event_id, event_type, source, actor, outcome, note, status_after,"
            " data, occurred_at) SELECT r.id, 'bench-' || r.id || '-' || i, 'approval.task_assigned', 'approvals',"
            " '{}'::jsonb, 'applied', '', 'submitted', '{}'::jsonb, now() - make_interval(secs => ($2 - i + (i % 7)))"
            " FROM purchase_request r, generate_series(1, $2) AS i WHERE r.id OP $1::uuid"
        )
        rid = new_draft.json()["id"]
        await admin.execute(insert.replace("OP", "="), rid, entries)
        others = await admin.fetchval("SELECT count(*) FROM purchase_request WHERE id <> $1::uuid", rid)
        await admin.execute(insert.replace("OP", "<>"), rid, max(1, others_entries // others))
        await admin.execute(NEW_INDEX)
        await admin.execute("ANALYZE timeline_entry")
        # a pooled connection of the app's engine: the codecs the service reads with
        held = contextlib.AsyncExitStack()
        timeline_conn = await held.enter_async_context(read_connection(engine))
        drops = {
            "old": "DROP INDEX ix_timeline_entry_request_id_occurred_at_id",
            "new": "DROP INDEX ix_timeline_entry_request_id_id",
        }

        async def timeline_reads(variant: str, count: int) -> Any:
            tx = timeline_conn.transaction()
            await tx.start()
            try:
                await timeline_conn.execute(drops[variant])
                snapshot = None
                for _ in range(count):
                    snapshot = await timeline_snapshot(timeline_conn, rid, "someone")
                return snapshot
            finally:
                await tx.rollback()

        assert await timeline_reads("old", 1) == await timeline_reads("new", 1)

        async def plan_of(variant: str) -> str:
            tx = timeline_conn.transaction()
            await tx.start()
            try:
                await timeline_conn.execute(drops[variant])
                plan = await timeline_conn.fetch(
                    "EXPLAIN SELECT id FROM timeline_entry WHERE request_id = $1::uuid ORDER BY occurred_at, id", rid
                )
                return " / ".join(r[0].strip() for r in plan)
            finally:
                await tx.rollback()

        plans = {variant: await plan_of(variant) for variant in ("old", "new")}
        print(f"load average {os.getloadavg()[0]:.1f}: old and new give the same answers, lists and timelines")
        for variant, plan in plans.items():
            print(f"  timeline plan, {variant}: {plan}")

        drafts: list[str] = []

        async def make_drafts() -> None:
            drafts.clear()
            for _ in range(n):
                drafts.append((await create(False)).json()["id"])

        def creating(old: bool) -> Callable[[], Awaitable[None]]:
            async def one() -> None:
                assert (await create(old)).status_code == 201

            return one

        def submitting(old: bool) -> Callable[[], Awaitable[None]]:
            async def one() -> None:
                assert (await submit(old, drafts.pop())).status_code == 200

            return one

        def listing(old: bool) -> Callable[[], Awaitable[None]]:
            async def one() -> None:
                await (list_old if old else list_new)(queries.RequestFilter())

            return one

        ops: dict[tuple[str, str], Callable[[], Awaitable[None]]] = {
            ("create", "old"): creating(True),
            ("create", "new"): creating(False),
            ("submit", "old"): submitting(True),
            ("submit", "new"): submitting(False),
            ("list", "old"): listing(True),
            ("list", "new"): listing(False),
        }
        db = url.rsplit("/", 1)[1]
        results: dict[tuple[str, str], tuple[list[float], list[float]]] = {k: ([], []) for k in ops}
        results["timeline", "old"], results["timeline", "new"] = ([], []), ([], [])
        for key, op in ops.items():
            if key[0] == "submit":
                await make_drafts()
            for _ in range(min(20, n)):
                await op()
        pids = [r[0] for r in await admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", db)]
        for _ in range(rounds):
            for key, op in ops.items():
                if key[0] == "submit":
                    await make_drafts()
                c0, s0 = time.process_time(), backends_cpu(pids)
                for _ in range(n):
                    await op()
                results[key][0].append((time.process_time() - c0) / n * 1000)
                results[key][1].append((backends_cpu(pids) - s0) / n * 1000)
            for variant in ("old", "new"):
                c0, s0 = time.process_time(), backends_cpu(pids)
                await timeline_reads(variant, n)
                results["timeline", variant][0].append((time.process_time() - c0) / n * 1000)
                results["timeline", variant][1].append((backends_cpu(pids) - s0) / n * 1000)
        handler(False)
        await client.aclose()
        await held.aclose()
        await admin.close()
        await engine.dispose()
    print(f"load average {os.getloadavg()[0]:.1f}; per operation, medians of {rounds} x {n}")
    print(f"{'':22}{'client ms':>10}{'backend ms':>11}")
    for (what, how), (client_ms, server_ms) in results.items():
        print(f"  {what:9} {how:10}{statistics.median(client_ms):10.3f}{statistics.median(server_ms):11.3f}")
    for what in ("create", "submit", "list", "timeline"):
        old_c, new_c = (statistics.median(results[what, v][0]) for v in ("old", "new"))
        old_s, new_s = (statistics.median(results[what, v][1]) for v in ("old", "new"))
        print(
            f"  {what}: client {old_c:.3f} -> {new_c:.3f} ms ({new_c / old_c:.2f}); backend {old_s:.3f} -> {new_s:.3f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--others", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.rounds, args.entries, args.others))
