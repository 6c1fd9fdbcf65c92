"""CPU of budgets' event path with the hold locked and read once per event against twice (not a test).

One operation: a request's four money events (``submitted``, ``approved``, ``receipt_confirmed``,
``closed``), each handled as the consumer does (``service.requests.handle`` in a unit of work of its own).
"once" is this checkout: the hold ``handle`` locked and read to order the event is the one the event's
rule applies to (``Step.apply(uow, hold)``). "twice" is the previous path: the rule locks and reads the
hold again (``SELECT ... FOR UPDATE`` and the ledger's sums), here by handing the use case no hold.
Alternated round by round in one run, each on its own cost centre and budget of one private, migrated
database. Before timing, one request through each: the holds, the ledger movements, the checks and the
published events must be equal but for ids and times (``event_path_cpu.observed``). Reported: client CPU
(this process) and backend CPU (``/proc`` of the connection's PostgreSQL process) per event, medians.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/budgets/bench/hold_once_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))

from event_path_cpu import EVENTS_PER_OP, MIGRATIONS, backend_cpu, events, observed, seed

from backoffice_budgets.consumers import decode
from backoffice_budgets.models import messaging
from backoffice_budgets.repository.uow import BudgetsUnitOfWork
from backoffice_budgets.service import requests as service
from backoffice_common.db import make_session_factory
from backoffice_common.events import CloudEvent
from backoffice_common.testing import private_database


def decode_relocking(event: CloudEvent, *, fx_max_age_days: int) -> service.Step:
    """``decode``, its rule handed no hold: it locks and reads the hold again, as before."""
    step = decode(event, fx_max_age_days=fx_max_age_days)
    apply = step.apply

    async def relock(uow: BudgetsUnitOfWork, _hold: Any) -> str:
        return await apply(uow, None)  # type: ignore[arg-type] - the use case then locks it itself

    return dataclasses.replace(step, apply=relock)


DECODERS = {"twice": decode_relocking, "once": decode}


async def one_request(uow_of: Any, how: str, request_id: str, cc: str) -> list[str]:
    handled = events(request_id, cc)
    for event in handled:
        async with uow_of() as uow:
            await service.handle(uow=uow, event=event, decode=partial(DECODERS[how], fx_max_age_days=7))
    return [request_id, *(e.id for e in handled), *(e.time.isoformat() for e in handled)]


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        ccs = {"twice": "CC-TWICE", "once": "CC-ONCE"}
        budgets = {how: await seed(factory, cc) for how, cc in ccs.items()}
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        uow_of = partial(BudgetsUnitOfWork, factory, tables=messaging, service="budgets")
        seen = {}
        for how in DECODERS:
            names = [*await one_request(uow_of, how, f"same-{how}", ccs[how]), budgets[how], ccs[how]]
            seen[how] = await observed(factory, names)
        for key in seen["twice"]:
            assert seen["twice"][key] == seen["once"][key], (key, seen["twice"][key], seen["once"][key])
        assert seen["once"]["moves"], "no movement"
        assert seen["once"]["published"], "no event"
        results: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in DECODERS}
        for how in DECODERS:  # warm-up
            for i in range(10):
                await one_request(uow_of, how, f"warm-{how}-{i}", ccs[how])
        for r in range(rounds):
            for how in DECODERS:
                c0, s0 = time.process_time(), backend_cpu(pid)
                for i in range(n):
                    await one_request(uow_of, how, f"{how}-{r}-{i}", ccs[how])
                client, server = results[how]
                client.append((time.process_time() - c0) / (n * EVENTS_PER_OP) * 1000)
                server.append((backend_cpu(pid) - s0) / (n * EVENTS_PER_OP) * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"budgets event path, {rounds} x {n} requests ({EVENTS_PER_OP} events each) per variant, alternated;")
    print(f"load {load[0]:.2f}/{load[1]:.2f}; the same holds, movements, checks and events from both (checked)")
    print(f"{'per event':14}{'client ms':>10}{'backend ms':>11}")
    for how, (client, server) in results.items():
        print(f"  {how:12}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")
    twice, once = results["twice"], results["once"]
    print(f"  once/twice client {statistics.median(once[0]) / statistics.median(twice[0]):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
