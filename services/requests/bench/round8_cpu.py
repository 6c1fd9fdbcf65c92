"""CPU of the eighth round's changes to the requests service, old against new in one run (not a test).

Against a private, migrated database of the current profile's PostgreSQL, in one process, the requests app
as the service builds it (``create_app`` + its database), old and new alternated round by round:

- ``get``: ``RequestRepository.get(id, for_update=True)`` (every command and every consumed fact: about 15 a
  flow), in its own unit of work (rolled back): the two statements it was (the row locked, then its
  revision's content; copied below) against the one statement (the content joined, re-read only when the
  locked row is not the snapshot's);
- ``timeline``: ``GET /requests/{id}/timeline`` (once a flow, and the console's) through the app (ASGI, its
  middlewares included, as ``http_cpu.py`` calls it): FastAPI's handler (``old``: the fast path unregistered for
  the call) against the fast path;
- ``patch``: ``PATCH /requests/{id}`` (a draft's edit, the console's) the same way, each call with the draft's
  current ``If-Match`` (old and new each on a draft of their own);
- ``connect``: what a connection opened for one read costs against a pooled one: the ``GET /requests/{id}``
  statement (``queries.request_read_now``) through ``read_connection`` on an engine whose pool keeps its connection
  (``pooled``) against one whose connection is closed after every read (``fresh``: as the engine's overflow
  connections are, when more reads run at once than the pool keeps: ``pool_size``).

Before timing, both ``get`` variants give the same aggregate, and both reads the same answer. Reported: client
CPU (this process) and the CPU of the whole PostgreSQL process tree (``/proc``: the postmaster, its live
children, and its reaped children's ``cutime``/``cstime``, so backends that exit are counted), less its idle
rate measured first; per operation, medians of ``--rounds``. Run it against a PostgreSQL nothing else uses
(the test profile's, after ``make infra-up``).

    BACKOFFICE_PROFILE=test bash -c 'source deploy/env.sh && \
        .venv/bin/python services/requests/bench/round8_cpu.py --n 200 --rounds 5'
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import backoffice_requests
from backoffice_common.app import _open_database
from backoffice_common.auth import User
from backoffice_common.db import driver_connection, make_engine, read_connection
from backoffice_common.testing import private_database
from backoffice_requests.api import requests as routes
from backoffice_requests.api.fast import FAST_PATHS
from backoffice_requests.domain.lifecycle import Status
from backoffice_requests.domain.model import Person, PurchaseRequest
from backoffice_requests.main import build_spec, create_app
from backoffice_requests.models import vendor
from backoffice_requests.repository.requests import _CONTENT_SQL, _GET_FOR_UPDATE_SQL
from backoffice_requests.repository.serialization import content_from_json
from backoffice_requests.schemas import RequestCreate
from backoffice_requests.service import queries
from backoffice_requests.service import requests as service
from backoffice_requests.service.uow import RequestsUnitOfWork
from backoffice_requests.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_cpu import bearer, call, comparable

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_requests.__file__).parent / "migrations"
SECRET = "bench-http-secret-" + "x" * 30  # http_cpu's, for its ``bearer``


async def old_get(uow: RequestsUnitOfWork, request_id: str) -> PurchaseRequest | None:
    """``RequestRepository.get(for_update=True)`` as it was: the row locked, then its revision's content."""
    conn = await driver_connection(uow.session)
    row = await conn.fetchrow(_GET_FOR_UPDATE_SQL, request_id)
    if row is None:
        return None
    content: dict[str, Any] = await conn.fetchval(_CONTENT_SQL, request_id, row["revision"])
    return PurchaseRequest(
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


def postmaster_pid() -> int:
    data = Path(os.environ["BACKOFFICE_STATE_DIR"]) / "pg" / "data" / "postmaster.pid"
    return int(data.read_text().split()[0])


def tree_cpu(postmaster: int) -> float:
    """The PostgreSQL server's CPU so far: the postmaster with its reaped children, and its live children."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        pid, ppid = int(entry), int(fields[1])
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15]) / TICKS  # utime stime cutime cstime
        elif ppid == postmaster:
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


async def main(n: int, rounds: int, only: list[str]) -> None:
    postmaster = postmaster_pid()
    async with private_database(MIGRATIONS) as url:
        settings = Settings(
            database_url=url, jwt_secret=SECRET, environment="test", log_level="WARNING", database_pool_size=1
        )
        app = create_app(settings)
        engine = _open_database(app, build_spec(settings), settings)
        uow_factory: Callable[[], RequestsUnitOfWork] = app.state.uow_factory
        async with app.state.session_factory() as session, session.begin():
            await session.execute(
                vendor.insert().values(vendor_id="v", legal_name="V", status="active", record={}, record_updated_at="1")
            )
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
        async with uow_factory() as uow:
            created = await service.create_draft(uow=uow, user=requester, data=body, require_known_cost_centre=False)
        async with uow_factory() as uow:
            await service.submit(uow=uow, user=requester, request_id=created.id, if_match=None)
        rid = created.id
        procurement = User(sub="buyer-1", roles=frozenset({"procurement"}))

        async with uow_factory() as uow:
            old, new = await old_get(uow, rid), await uow.requests.get(rid, for_update=True)
            assert old is not None
            assert new is not None
            assert (old.snapshot(), old.version, old.received) == (new.snapshot(), new.version, new.received)
        # a second engine whose one connection is closed after every read: a fresh backend each time
        fresh_engine = make_engine(url, pool_size=1)
        async with read_connection(engine) as a, read_connection(fresh_engine) as b:
            first = await queries.request_read_now(a, user=procurement, request_id=rid)
            second = await queries.request_read_now(b, user=procurement, request_id=rid)
            assert first.model_dump_json() == second.model_dump_json()
        # the HTTP calls: the timeline of the submitted request, the edits of two drafts
        owner = bearer("requester-1", "requester")
        drafts: dict[str, list[Any]] = {}
        for how in ("old", "new"):
            async with uow_factory() as uow:
                draft = await service.create_draft(uow=uow, user=requester, data=body, require_known_cost_centre=False)
            drafts[how] = [draft.id, 1]

        async def without_fast_path(endpoint: Callable[..., Any], answer: Callable[[], Awaitable[Any]]) -> Any:
            fast = FAST_PATHS.pop(endpoint)
            try:
                return await answer()
            finally:
                FAST_PATHS[endpoint] = fast

        def timeline_call() -> Awaitable[Any]:
            return call(app, "GET", f"/requests/{rid}/timeline", {**owner, "accept-language": "de"})

        def patching(how: str) -> Callable[[], Awaitable[Any]]:
            async def one() -> Any:
                draft_id, version = drafts[how]
                headers = {**owner, "content-type": "application/json", "if-match": f'"{version}"'}
                edit = b'{"title": "Edited ' + str(version).encode() + b'"}'
                if how == "old":
                    answer = await without_fast_path(
                        routes.update_request, lambda: call(app, "PATCH", f"/requests/{draft_id}", headers, edit)
                    )
                else:
                    answer = await call(app, "PATCH", f"/requests/{draft_id}", headers, edit)
                assert answer.status == 200, answer.body
                drafts[how][1] = version + 1
                return answer

            return one

        old_t, new_t = await without_fast_path(routes.request_timeline, timeline_call), await timeline_call()
        volatile_headers = (b"x-correlation-id", b"date")
        assert (old_t.status, old_t.body) == (new_t.status, new_t.body), "the timelines differ"
        assert [h for h in old_t.headers if h[0] not in volatile_headers] == [
            h for h in new_t.headers if h[0] not in volatile_headers
        ], "the timelines' headers differ"
        old_p, new_p = comparable(await patching("old")()), comparable(await patching("new")())
        for answer in (old_p, new_p):  # two drafts: their ids, numbers, times (and so the length) differ
            for volatile in ("id", "number", "created_at", "updated_at"):
                answer[2].pop(volatile)
            answer[2]["waiting_on"].pop("since")
        assert old_p[0] == new_p[0] == 200
        assert old_p[2] == new_p[2], (old_p, new_p)
        assert [h for h in old_p[1] if h[0] != b"content-length"] == [h for h in new_p[1] if h[0] != b"content-length"]
        print(f"load average {os.getloadavg()[0]:.1f}: old and new give the same aggregate and answers", flush=True)

        async def get_old() -> None:
            async with uow_factory() as uow:
                await old_get(uow, rid)

        async def get_new() -> None:
            async with uow_factory() as uow:
                await uow.requests.get(rid, for_update=True)

        async def read_pooled() -> None:
            async with read_connection(engine) as conn:
                await queries.request_read_now(conn, user=procurement, request_id=rid)

        async def read_fresh() -> None:
            async with read_connection(fresh_engine) as conn:
                await queries.request_read_now(conn, user=procurement, request_id=rid)
            await fresh_engine.dispose()  # the connection closed, as an overflow connection given back is

        ops: dict[tuple[str, str], tuple[Callable[[], Awaitable[None]], int]] = {
            ("get", "old"): (get_old, n),
            ("get", "new"): (get_new, n),
            ("timeline", "old"): (lambda: without_fast_path(routes.request_timeline, timeline_call), n),
            ("timeline", "new"): (timeline_call, n),
            ("patch", "old"): (patching("old"), n),
            ("patch", "new"): (patching("new"), n),
            ("connect", "pooled"): (read_pooled, max(1, n // 4)),
            ("connect", "fresh"): (read_fresh, max(1, n // 4)),
        }
        ops = {key: op for key, op in ops.items() if not only or key[0] in only}
        for op, _ in ops.values():
            for _ in range(20):
                await op()
        s0, t0 = tree_cpu(postmaster), time.monotonic()
        await asyncio.sleep(3)
        idle = (tree_cpu(postmaster) - s0) / (time.monotonic() - t0)
        results: dict[tuple[str, str], tuple[list[float], list[float]]] = {k: ([], []) for k in ops}
        loads = [os.getloadavg()[0]]
        for _ in range(rounds):
            for key, (op, count) in ops.items():
                c0, s0, t0 = time.process_time(), tree_cpu(postmaster), time.monotonic()
                for _ in range(count):
                    await op()
                server = tree_cpu(postmaster) - s0 - idle * (time.monotonic() - t0)
                results[key][0].append((time.process_time() - c0) / count * 1000)
                results[key][1].append(server / count * 1000)
            loads.append(os.getloadavg()[0])
        await fresh_engine.dispose()
        await engine.dispose()
    print(
        f"load average {min(loads):.1f}-{max(loads):.1f}; PostgreSQL idle {idle * 1000:.1f} ms/s; per operation,"
        f" medians of {rounds} rounds (get: {n} a round, connect: {max(1, n // 4)})"
    )
    print(f"{'':22}{'client ms':>10}{'server ms':>11}")
    for (what, how), (client, server) in results.items():
        print(f"  {what:9} {how:10}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")
    pairs = (("get", ("old", "new")), ("timeline", ("old", "new")), ("patch", ("old", "new")))
    for what, (a, b) in (*pairs, ("connect", ("pooled", "fresh"))):
        if (what, a) not in results:
            continue
        old_c, new_c = (statistics.median(results[what, v][0]) for v in (a, b))
        old_s, new_s = (statistics.median(results[what, v][1]) for v in (a, b))
        print(
            f"  {what}: {a} -> {b}: client {old_c:.3f} -> {new_c:.3f} ms ({new_c / old_c:.2f});"
            f" server {old_s:.3f} -> {new_s:.3f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=[], choices=("get", "timeline", "patch", "connect"))
    args = parser.parse_args()
    asyncio.run(main(args.n, args.rounds, args.only))
