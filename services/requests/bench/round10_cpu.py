"""CPU of the tenth round's change to the requests service, old against new in one run (not a test).

A flow's requests consumes 12 events: 7 only write the timeline, 5 are facts applied to the request. Before this
round a timeline-only event was BEGIN, the inbox claim, the row lock and status (``status_for_update``), one
``remember`` per approver or buyer's signer it names (``approval.task_assigned``: one or two), the entry, COMMIT; now
the lock, the people and the entry are ONE statement (``facts.record_entry``, ``TimelineRepository.record_under_lock``).
An applied fact wrote its entry, read the request's deferred facts (``deferred.of_request``, almost always none) and
saved the request (its ``UPDATE``); now one statement does all three (``TimelineRepository.add_reading_deferred``
with ``saving``).

Against a private, migrated database of the current profile's PostgreSQL, in one process, the requests app's unit of
work as the service builds it; the consumer's unit of work per event as ``Consumer._handle_once`` runs it (the inbox
claim, the handler, the commit). ``old`` is the code of before (``facts.record_report``'s timeline-only path; for a
fact, ``add``, ``of_request``, then ``save``), ``new`` the code of now (``consumers.on_lifecycle_event``), alternated
round by round, each on a request of its own in the same state. Before timing, old and new write the same rows
(entries, approvers, signers) and give the same outcome (a fact's rows: ``tests/integration/
test_consumed_in_one_statement.py``). The facts' units of work are rolled back (an applied fact changes the
request: the next round needs it in the same state), both ways. Client CPU of this process and the CPU of the whole
PostgreSQL process tree (``round8_cpu.tree_cpu``) less its idle rate; per event, medians of ``--rounds``.

    BACKOFFICE_PROFILE=test bash -c 'source deploy/env.sh && \\
        .venv/bin/python services/requests/bench/round10_cpu.py --n 300 --rounds 5'
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
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import backoffice_requests
from backoffice_common.app import _open_database
from backoffice_common.auth import User
from backoffice_common.db import driver_connection
from backoffice_common.events import CloudEvent, parse_payload
from backoffice_common.testing import private_database
from backoffice_requests import consumers
from backoffice_requests.domain.facts import FACTS
from backoffice_requests.main import build_spec, create_app
from backoffice_requests.models import vendor
from backoffice_requests.schemas import RequestCreate
from backoffice_requests.service import facts
from backoffice_requests.service import requests as service
from backoffice_requests.service.uow import RequestsUnitOfWork
from backoffice_requests.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from round8_cpu import postmaster_pid, tree_cpu
from round9_cpu import SECRET, flow_events

HERE = Path(__file__).resolve().parent
MIGRATIONS = Path(backoffice_requests.__file__).parent / "migrations"
CONSUMER = "bench-consumer"


def report_of(event: CloudEvent) -> facts.Report:
    """The report ``consumers.on_lifecycle_event`` builds."""
    payload = parse_payload(consumers.LifecyclePayload, event)
    return facts.Report(
        event=event,
        request_id=consumers._request_id(event, payload),
        actor=consumers._actor(event, payload),
        note=consumers._note(event),
        approvers=consumers._approvers(event, payload),
        buyer_signers=consumers._buyer_signers(event),
        task_id=str(payload.new_task_id or payload.task_id or event.id)[:200],
    )


async def old_handler(event: CloudEvent, uow: RequestsUnitOfWork) -> str | None:
    """The handler as it was: ``record_report`` for every type (timeline-only: the lock, each ``remember``, the
    entry), and an applied fact's entry then its deferred facts in two statements."""
    timeline = uow.timeline

    async def add_then_read(*, saving: Any = None, **entry: Any) -> list[CloudEvent]:
        assert saving is None
        await timeline.add(**entry)
        return await uow.deferred.of_request(entry["request_id"])

    timeline.add_reading_deferred = add_then_read  # type: ignore[method-assign]
    uow.requests.plain_update = lambda _request: None  # type: ignore[method-assign]  # then save: its UPDATE
    return await facts.record_report(uow=uow, report=report_of(event))


async def new_handler(event: CloudEvent, uow: RequestsUnitOfWork) -> str | None:
    return await consumers.on_lifecycle_event(event, uow)


HANDLERS = {"old": old_handler, "new": new_handler}


async def rows_of(uow: RequestsUnitOfWork, rid: str, event_id: str) -> dict[str, Any]:
    conn = await driver_connection(uow.session)
    entry = await conn.fetchrow(
        "SELECT event_type, source, actor, outcome, note, status_after, data - 'request_id' AS data"
        " FROM timeline_entry WHERE event_id = $1",
        event_id,
    )
    approvers = await conn.fetch(
        "SELECT user_id, task_id, request_created_at = (SELECT created_at FROM purchase_request WHERE id = $1::uuid)"
        " FROM approver_assignment WHERE request_id = $1::uuid ORDER BY 1",
        rid,
    )
    signers = await conn.fetch("SELECT user_id FROM buyer_signer WHERE request_id = $1::uuid ORDER BY 1", rid)
    return {
        "entry": dict(entry) if entry else None,
        "approvers": [tuple(r) for r in approvers],
        "signers": [tuple(r) for r in signers],
    }


async def main(n: int, rounds: int) -> None:
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

        async def submitted() -> str:
            async with uow_factory() as uow:
                created = await service.create_draft(
                    uow=uow, user=requester, data=body, require_known_cost_centre=False
                )
            async with uow_factory() as uow:
                await service.submit(uow=uow, user=requester, request_id=created.id, if_match=None)
            return created.id

        ids = {how: await submitted() for how in HANDLERS}
        templates = flow_events(ids["old"], vendor_id, datetime.now(UTC) + timedelta(milliseconds=10))
        kinds = {
            "task_assigned": next(e for e in templates if e.type == "approval.task_assigned"),
            "task_decided": next(e for e in templates if e.type == "approval.task_decided"),
            "buyer_signed": next(
                e for e in templates if e.type == "contract.signed" and e.data.get("party") == "buyer"
            ),
            "approved": next(e for e in templates if e.type == "purchase_request.approved"),
        }

        def readdressed(template: CloudEvent, rid: str) -> CloudEvent:
            text = template.model_dump_json().replace(ids["old"], rid)
            return CloudEvent.model_validate_json(text).model_copy(update={"id": str(uuid.uuid4())})

        def consuming(how: str, kind: str) -> Callable[[], Awaitable[Any]]:
            handler, template = HANDLERS[how], kinds[kind]

            async def one() -> Any:
                rid = ids[how]
                event = readdressed(template, rid)
                async with uow_factory() as uow:
                    assert await uow.claim(consumer=CONSUMER, event=event)
                    outcome = await handler(event, uow)
                    if outcome is not None:
                        await uow.set_outcome(consumer=CONSUMER, event=event, outcome=outcome)
                    if event.type in FACTS:
                        await uow.rollback()  # the request stays submitted for the next one
                    else:
                        await uow.commit()
                return rid, event, outcome

            return one

        for kind in kinds:
            results = {how: await consuming(how, kind)() for how in HANDLERS}
            (_, _, old_outcome), (_, _, new_outcome) = results["old"], results["new"]
            assert old_outcome == new_outcome, (kind, old_outcome, new_outcome)
            if kinds[kind].type not in FACTS:
                async with uow_factory() as uow:
                    rows = {how: await rows_of(uow, rid, event.id) for how, (rid, event, _) in results.items()}
                    await uow.rollback()
                assert rows["old"] == rows["new"], (kind, rows)
                assert rows["new"]["entry"] is not None
                detail = f"{rows['new']['entry']['status_after']}, {len(rows['new']['approvers'])} approvers"
            else:
                detail = "rolled back"
            print(f"  {kind}: outcome {new_outcome!r}, the same rows both ways ({detail})", flush=True)
        print(f"load average {os.getloadavg()[0]:.1f}: old and new write the same", flush=True)

        # a whole flow's 12 consumed events, each in the consumer's unit of work, on a request of its own each way:
        # the statements they send (asyncpg's query logger on the pooled connection, installed after the BEGIN: COMMIT
        # counted, the 12 BEGINs not)
        for how, handler in HANDLERS.items():
            rid = await submitted()
            sent: list[str] = []
            outcomes = []
            for event in flow_events(rid, vendor_id, datetime.now(UTC) + timedelta(milliseconds=10)):
                async with uow_factory() as uow:
                    conn = await uow._driver()
                    with conn.query_logger(lambda record, sent=sent: sent.append(record.query)):
                        assert await uow.claim(consumer=CONSUMER, event=event)
                        outcome = await handler(event, uow)
                        if outcome is not None:
                            await uow.set_outcome(consumer=CONSUMER, event=event, outcome=outcome)
                        await uow.commit()
                        await asyncio.sleep(0)
                outcomes.append(outcome)
            async with uow_factory() as uow:
                status = (await uow.requests.get(rid)).status.value  # type: ignore[union-attr]
            print(
                f"  a flow's 12 consumed events, {how}: {len(sent)} statements (and 12 BEGIN),"
                f" {status}, outcomes {sorted(Counter(map(str, outcomes)).items())}",
                flush=True,
            )

        ops = {(kind, how): consuming(how, kind) for kind in kinds for how in HANDLERS}
        for op in ops.values():
            for _ in range(20):
                await op()
        s0, t0 = tree_cpu(postmaster), time.monotonic()
        await asyncio.sleep(3)
        idle = (tree_cpu(postmaster) - s0) / (time.monotonic() - t0)
        timings: dict[tuple[str, str], tuple[list[float], list[float]]] = {k: ([], []) for k in ops}
        loads = [os.getloadavg()[0]]
        for r in range(rounds):
            order = list(ops.items()) if r % 2 == 0 else list(reversed(ops.items()))  # A/B then B/A
            for key, op in order:
                c0, s0, t0 = time.process_time(), tree_cpu(postmaster), time.monotonic()
                for _ in range(n):
                    await op()
                server = tree_cpu(postmaster) - s0 - idle * (time.monotonic() - t0)
                timings[key][0].append((time.process_time() - c0) / n * 1000)
                timings[key][1].append(server / n * 1000)
            loads.append(os.getloadavg()[0])
        await engine.dispose()
    print(
        f"load average {min(loads):.1f}-{max(loads):.1f}; PostgreSQL idle {idle * 1000:.1f} ms/s; per consumed event"
        f" (claim, handler, commit; a fact rolled back), medians of {rounds} rounds of {n}"
    )
    for kind in kinds:
        old_c, new_c = (statistics.median(timings[kind, v][0]) for v in HANDLERS)
        old_s, new_s = (statistics.median(timings[kind, v][1]) for v in HANDLERS)
        spread = [b / a for a, b in zip(timings[kind, "old"][0], timings[kind, "new"][0], strict=True)]
        print(
            f"  {kind:14} client {old_c:.3f} -> {new_c:.3f} ms ({new_c / old_c:.2f}; rounds"
            f" {min(spread):.2f}-{max(spread):.2f}); PostgreSQL {old_s:.3f} -> {new_s:.3f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.rounds))
