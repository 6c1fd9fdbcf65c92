"""CPU of the ninth round's change to the requests service, old against new in one run (not a test).

``GET /requests/{id}`` (the flow's driver polls it: about 18 a flow) and a command's answer read the request in one
statement. Before this round that statement carried the whole live timeline, every column of every entry (its
``data`` and ``actor`` jsonb decoded on each read), though the answer reads only ``waiting_on``'s few entries;
now (``repository.reads.request_view``) it carries only the entries of the types ``waiting_on`` reads in the
request's status (``domain.waiting.READS``) and the last entry's time.

Against a private, migrated database of the current profile's PostgreSQL, in one process, the requests app as the
service builds it: requests brought to the states the driver polls in by replaying a real flow's consumed events
(``flow_events.json``: a flow of ``make run``, its events' types, sources, payloads and times, as
``consumers.on_lifecycle_event`` records them), then ``GET /requests/{id}`` through the app (ASGI, middlewares
included, as ``http_cpu.py`` calls it) with ``queries.request_read_now`` as it was (``old``: ``request_snapshot``
and the whole timeline) and as it is (``new``), alternated round by round. Before timing, old and new give the
same status, headers and body for every state and reader. Client CPU of this process and the CPU of the whole
PostgreSQL process tree (``round8_cpu.tree_cpu``), less its idle rate; per call, medians of ``--rounds``.

    BACKOFFICE_PROFILE=test bash -c 'source deploy/env.sh && \\
        .venv/bin/python services/requests/bench/round9_cpu.py --n 300 --rounds 5'
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
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

import backoffice_requests
from backoffice_common.app import _open_database
from backoffice_common.auth import User
from backoffice_common.events import CloudEvent
from backoffice_common.testing import private_database
from backoffice_requests import consumers
from backoffice_requests.main import build_spec, create_app
from backoffice_requests.models import vendor
from backoffice_requests.repository.reads import request_snapshot
from backoffice_requests.schemas import RequestCreate, RequestRead
from backoffice_requests.service import queries
from backoffice_requests.service import requests as service
from backoffice_requests.service.access import not_found
from backoffice_requests.service.uow import RequestsUnitOfWork
from backoffice_requests.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_cpu import bearer, call
from round8_cpu import postmaster_pid, tree_cpu

HERE = Path(__file__).resolve().parent

MIGRATIONS = Path(backoffice_requests.__file__).parent / "migrations"
SECRET = "bench-http-secret-" + "x" * 30  # http_cpu's, for its ``bearer``
STAGES = {
    # the state the driver polls in: the flow's consumed events replayed up to (and including) this type
    "submitted": "approval.task_assigned",
    "vendor_notified": "vendor.notified",
    "contract_pending": "contract.signed",
    "contract_executed": "contract.executed",
}


async def old_read_now(conn: asyncpg.Connection, *, user: User, request_id: str) -> RequestRead:
    """``queries.request_read_now`` as it was: ``request_snapshot`` (the whole live timeline), every entry handed
    to ``waiting_on``."""
    snapshot = await request_snapshot(conn, request_id, user.sub)
    if snapshot is None:
        raise not_found(request_id)
    row = snapshot.row
    if not (user.sees_everything or row["requester_id"] == user.sub or snapshot.assigned):
        raise not_found(request_id)
    if snapshot.content is None:
        raise LookupError(f"no revision {row['revision']} of request {request_id}")
    return queries._request_model(row, snapshot.content, snapshot.entries)


def flow_events(request_id: str, vendor_id: str, start: datetime) -> list[CloudEvent]:
    """The recorded flow's consumed events, re-addressed to ``request_id`` and ``vendor_id``, shifted to ``start``."""
    recorded = json.loads((HERE / "flow_events.json").read_text())
    text = json.dumps(recorded).replace(recorded["request_id"], request_id).replace(recorded["vendor_id"], vendor_id)
    events = json.loads(text)["events"]
    first = datetime.fromisoformat(events[0]["time"])
    return [
        CloudEvent(
            id=str(uuid.uuid4()),
            source=e["source"],
            type=e["type"],
            subject=request_id,
            time=start + (datetime.fromisoformat(e["time"]) - first),
            data=e["data"],
        )
        for e in events
    ]


async def main(n: int, rounds: int, profile: str | None, only: str | None) -> None:
    postmaster = postmaster_pid()
    async with private_database(MIGRATIONS) as url:
        settings = Settings(
            database_url=url, jwt_secret=SECRET, environment="test", log_level="WARNING", database_pool_size=1
        )
        app = create_app(settings)
        engine = _open_database(app, build_spec(settings), settings)
        uow_factory: Callable[[], RequestsUnitOfWork] = app.state.uow_factory
        vendor_id = "v-" + uuid.uuid4().hex[:8]
        async with app.state.session_factory() as session, session.begin():
            await session.execute(
                vendor.insert().values(
                    vendor_id=vendor_id, legal_name="V", status="active", record={}, record_updated_at="1"
                )
            )
        recorded = json.loads((HERE / "flow_events.json").read_text())
        requester = User(sub="requester-1", roles=frozenset({"requester"}), name="R", department="ENG")
        body = RequestCreate.model_validate({**recorded["draft"], "vendor_id": vendor_id, "department": "ENG"})
        ids: dict[str, str] = {}
        # the record's requests (two of their own at contract_pending: their timelines grow) after the reads'
        for stage, last_type in (*STAGES.items(), ("record-old", "contract.signed"), ("record-new", "contract.signed")):
            async with uow_factory() as uow:
                created = await service.create_draft(
                    uow=uow, user=requester, data=body, require_known_cost_centre=False
                )
            async with uow_factory() as uow:
                await service.submit(uow=uow, user=requester, request_id=created.id, if_match=None)
            events = flow_events(created.id, vendor_id, datetime.now(UTC) + timedelta(milliseconds=10))
            upto = max(i for i, e in enumerate(events) if e.type == last_type)
            for event in events[: upto + 1]:
                async with uow_factory() as uow:
                    await consumers.on_lifecycle_event(event, uow)
                    await uow.commit()
            ids[stage] = created.id
        owner = bearer("requester-1", "requester")
        new_read_now = queries.request_read_now

        def reading(how: str, stage: str) -> Callable[[], Awaitable[Any]]:
            async def one() -> Any:
                queries.request_read_now = old_read_now if how == "old" else new_read_now  # type: ignore[assignment]
                try:
                    answer = await call(app, "GET", f"/requests/{ids[stage]}", owner)
                finally:
                    queries.request_read_now = new_read_now  # type: ignore[assignment]
                assert answer.status == 200, answer.body
                return answer

            return one

        volatile = (b"x-correlation-id", b"date")
        for stage, rid in ids.items():
            old, new = await reading("old", stage)(), await reading("new", stage)()
            assert (old.status, old.body) == (new.status, new.body), (stage, old.body, new.body)
            assert [h for h in old.headers if h[0] not in volatile] == [h for h in new.headers if h[0] not in volatile]
            status = json.loads(new.body)["status"]
            async with engine.connect() as c:
                raw = await c.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                entries = await driver.fetchval("SELECT count(*) FROM timeline_entry WHERE request_id = $1::uuid", rid)
            print(
                f"  {stage}: status {status}, {entries} timeline entries, {len(new.body)} bytes, old = new", flush=True
            )
            for sub, roles in (("buyer-1", ("procurement",)), ("stranger-1", ("approver",))):
                headers = bearer(sub, *roles)
                queries.request_read_now = old_read_now  # type: ignore[assignment]
                try:
                    a = await call(app, "GET", f"/requests/{rid}", headers)
                finally:
                    queries.request_read_now = new_read_now  # type: ignore[assignment]
                b = await call(app, "GET", f"/requests/{rid}", headers)
                assert (a.status, a.body) == (b.status, b.body) or (a.status == b.status == 404), (a, b)
        print(f"load average {os.getloadavg()[0]:.1f}: old and new give the same answers", flush=True)

        if profile:
            import cProfile
            import pstats

            one = reading("new", profile)
            for _ in range(50):
                await one()
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(n):
                await one()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            await engine.dispose()
            return
        # a consumed event that only writes the timeline (7 of a flow's 12): the row locked and loaded with its
        # content into the aggregate (old: ``get(for_update=True)``, as ``record_report`` did for every event)
        # against its status alone under the same lock (new: ``status_for_update``); each in its own unit of work,
        # committed, as the consumer's; old and new on requests of their own in the same state
        template = next(
            e for e in flow_events(ids["contract_pending"], vendor_id, datetime.now(UTC)) if e.type == "contract.signed"
        )
        timeline_ids = {"old": ids.pop("record-old"), "new": ids.pop("record-new")}

        def recording(how: str) -> Callable[[], Awaitable[Any]]:
            async def one() -> Any:
                rid = timeline_ids[how]
                event = template.model_copy(
                    update={"id": str(uuid.uuid4()), "subject": rid, "data": {**template.data, "request_id": rid}}
                )
                async with uow_factory() as uow:
                    if how == "old":

                        async def status_via_get(request_id: str) -> str | None:
                            request = await uow.requests.get(request_id, for_update=True)
                            return None if request is None else request.status.value

                        uow.requests.status_for_update = status_via_get  # type: ignore[method-assign]
                    outcome = await consumers.on_lifecycle_event(event, uow)
                    await uow.commit()
                return event, outcome

            return one

        (old_event, old_outcome), (new_event, new_outcome) = await recording("old")(), await recording("new")()
        assert old_outcome == new_outcome is None
        async with uow_factory() as uow:
            rows = {}
            for how, event in (("old", old_event), ("new", new_event)):
                (entry,) = [
                    e for e in await uow.timeline.entries(request_id=timeline_ids[how]) if e["event_id"] == event.id
                ]
                rows[how] = {
                    k: v
                    for k, v in entry.items()
                    if k not in ("id", "event_id", "request_id", "data", "occurred_at", "recorded_at")
                }
                rows[how]["data"] = {k: v for k, v in entry["data"].items() if k != "request_id"}
        assert rows["old"] == rows["new"], rows
        same = rows["new"]
        print(f"  timeline-only event: the same entry both ways ({same['event_type']}, {same['status_after']})")
        if only == "record":
            ops = {("record", how): recording(how) for how in ("old", "new")}
        else:
            ops = {(stage, how): reading(how, stage) for stage in ids for how in ("old", "new")}
            if only is None:
                ops.update({("record", how): recording(how) for how in ("old", "new")})
        for op in ops.values():
            for _ in range(20):
                await op()
        s0, t0 = tree_cpu(postmaster), time.monotonic()
        await asyncio.sleep(3)
        idle = (tree_cpu(postmaster) - s0) / (time.monotonic() - t0)
        results: dict[tuple[str, str], tuple[list[float], list[float]]] = {k: ([], []) for k in ops}
        loads = [os.getloadavg()[0]]
        for _ in range(rounds):
            for key, op in ops.items():
                c0, s0, t0 = time.process_time(), tree_cpu(postmaster), time.monotonic()
                for _ in range(n):
                    await op()
                server = tree_cpu(postmaster) - s0 - idle * (time.monotonic() - t0)
                results[key][0].append((time.process_time() - c0) / n * 1000)
                results[key][1].append(server / n * 1000)
            loads.append(os.getloadavg()[0])
        await engine.dispose()
    print(
        f"load average {min(loads):.1f}-{max(loads):.1f}; PostgreSQL idle {idle * 1000:.1f} ms/s;"
        f" per call (GET /requests/{{id}} at a state, or record: a timeline-only event consumed), medians of {rounds}"
        f" rounds of {n}"
    )
    for stage in dict.fromkeys(key[0] for key in ops):
        old_c, new_c = (statistics.median(results[stage, v][0]) for v in ("old", "new"))
        old_s, new_s = (statistics.median(results[stage, v][1]) for v in ("old", "new"))
        spread = [b / a for a, b in zip(results[stage, "old"][0], results[stage, "new"][0], strict=True)]
        print(
            f"  {stage:18} client {old_c:.3f} -> {new_c:.3f} ms ({new_c / old_c:.2f}; rounds"
            f" {min(spread):.2f}-{max(spread):.2f}); PostgreSQL {old_s:.3f} -> {new_s:.3f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", choices=tuple(STAGES), help="only cProfile the new read of this stage's request")
    parser.add_argument("--only", choices=("get", "record"), help="time only the reads or only the recording")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.rounds, args.profile, args.only))
