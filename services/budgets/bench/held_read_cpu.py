"""A request event reading its held-back events always, against only when its hold says there may be some (not a test).

One operation: a request's four money events (``submitted``, ``approved``, ``receipt_confirmed``, ``closed``),
each handled as the consumer does (``service.requests.handle`` in a unit of work of its own), as in
``event_path_cpu.py`` (whose request, seed and comparison this reuses). ``old``: every event reads the request's
held-back events after locking its hold (``HoldRepository.may_have_held`` made to answer True, ``clear_held`` to
do nothing: the ninth round's path). ``new``: this checkout's (the hold's ``held_events`` says whether to read).

One private database, the two variants alternated round by round. Checked before the figures count: one request
through each variant in the flow's order, and one whose approval is read before its submission (held back, then
drained), leave the same hold, movements, checks and published events (``event_path_cpu.observed``; the flag
itself only in the flow's order: the old path never clears it). Reported: client CPU (this process) and backend
CPU (``/proc`` of the connection's PostgreSQL process) per event, medians, and the held-back reads per event.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/budgets/bench/held_read_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).parent))
from event_path_cpu import MIGRATIONS, backend_cpu, events, observed, seed

from backoffice_budgets.consumers import decode
from backoffice_budgets.models import messaging
from backoffice_budgets.repository.holds import HoldRepository
from backoffice_budgets.repository.pending import PendingRepository
from backoffice_budgets.repository.uow import BudgetsUnitOfWork
from backoffice_budgets.service import requests as service
from backoffice_common.db import make_session_factory
from backoffice_common.testing import private_database

EVENTS_PER_OP = 4
READS = [0]
_of = PendingRepository.of


async def counted_of(self: PendingRepository, request_id: str) -> Any:
    READS[0] += 1
    return await _of(self, request_id)


@contextmanager
def old_path(on: bool) -> Any:
    may, clear = HoldRepository.may_have_held, HoldRepository.clear_held
    if on:

        async def keep(self: HoldRepository, request_id: str) -> None:
            return None

        HoldRepository.may_have_held = lambda self, request_id: True  # type: ignore[method-assign]
        HoldRepository.clear_held = keep  # type: ignore[method-assign]
    try:
        yield
    finally:
        HoldRepository.may_have_held, HoldRepository.clear_held = may, clear  # type: ignore[method-assign]


async def one_request(uow_of: Any, request_id: str, cc: str, *, approval_first: bool = False) -> list[str]:
    handled = events(request_id, cc)
    if approval_first:
        handled[0], handled[1] = handled[1], handled[0]
    for event in handled:
        async with uow_of() as uow:
            await service.handle(uow=uow, event=event, decode=partial(decode, fx_max_age_days=7))
    return [request_id, *(e.id for e in handled), *(e.time.isoformat() for e in handled)]


async def run(n: int, rounds: int) -> None:
    PendingRepository.of = counted_of  # type: ignore[method-assign]
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        ccs = {"old": "CC-OLD", "new": "CC-NEW"}
        budgets = {how: await seed(factory, cc) for how, cc in ccs.items()}
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        uow_of = partial(BudgetsUnitOfWork, factory, tables=messaging, service="budgets")
        seen: dict[str, Any] = {}
        for how in ccs:
            with old_path(how == "old"):
                for first in (False, True):
                    names = await one_request(uow_of, f"same-{how}-{first}", ccs[how], approval_first=first)
                    seen[(how, first)] = await observed(factory, [*names, budgets[how], ccs[how]])
                    if first:
                        seen[(how, first)]["hold"].pop("held_events")
        for first in (False, True):
            old, new = seen[("old", first)], seen[("new", first)]
            for key in old:
                assert old[key] == new[key], (first, key, old[key], new[key])
            assert new["moves"], "no movement"
            assert new["published"], "no event"
        assert seen[("new", False)]["hold"]["held_events"] is False
        results: dict[str, tuple[list[float], list[float], list[float]]] = {k: ([], [], []) for k in ccs}
        for how in ccs:  # warm-up
            with old_path(how == "old"):
                for i in range(20):
                    await one_request(uow_of, f"warm-{how}-{i}", ccs[how])
        for r in range(rounds):
            for how in ccs if r % 2 == 0 else list(reversed(ccs)):
                with old_path(how == "old"):
                    reads = READS[0]
                    c0, s0 = time.process_time(), backend_cpu(pid)
                    for i in range(n):
                        await one_request(uow_of, f"{how}-{r}-{i}", ccs[how])
                    client, server, count = results[how]
                    client.append((time.process_time() - c0) / (n * EVENTS_PER_OP) * 1000)
                    server.append((backend_cpu(pid) - s0) / (n * EVENTS_PER_OP) * 1000)
                    count.append((READS[0] - reads) / (n * EVENTS_PER_OP))
        await engine.dispose()
    load = os.getloadavg()
    print(f"budgets event path, {rounds} x {n} requests ({EVENTS_PER_OP} events each) per variant, alternated;")
    print(f"load {load[0]:.2f}/{load[1]:.2f}; the same holds, movements, checks and events from both (checked)")
    print(f"{'per event':14}{'client ms':>10}{'backend ms':>11}{'held reads':>11}")
    for how, (client, server, count) in results.items():
        c, b, k = (statistics.median(x) for x in (client, server, count))
        print(f"  {how:12}{c:10.3f}{b:11.3f}{k:11.2f}")
    old, new = results["old"], results["new"]
    ratio_c = statistics.median(new[0]) / statistics.median(old[0])
    ratio_s = statistics.median(new[1]) / statistics.median(old[1]) if statistics.median(old[1]) else float("nan")
    print(f"  new/old client {ratio_c:.3f}, backend {ratio_s:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
