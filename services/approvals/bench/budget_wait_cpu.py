"""A waiting submission's whole life, its ``budget_wait`` timer left open against closed with the wait (not a test).

One operation: a request's ``purchase_request.submitted`` read before its ``budget.checked`` (the submission waits
in ``pending_route`` with a ``budget_wait`` timer: in every flow of ``make run`` the check comes second), then the
check (the wait taken, the chain routed), then the timer job's wake-up when that timer's time has come
(``jobs.TimerSteps`` over ``next_due_at_now`` and ``fire_due_timer``, as ``jobs.timer_job`` runs them: ``do_one``
until nothing is due, then the next due time). ``old``: the wait's statements as they were (copied below): the
timer stays open, so the wake-up fires it (a unit of work: the claim, the peek that finds nothing waiting, the
mark, COMMIT; then another look). ``new``: this checkout's (``repository.budgets``: the wait's statement closes
its timer), so the wake-up only looks.

One private database, a directory of 60 approvers and the built-in policy (``event_path_cpu.seed``); the two
variants alternated round by round, each round ``--n`` requests (their submissions and checks, then one wait
for the timers' time, then the wake-ups). Checked before the figures count: one request through each variant
leaves the same chain, tasks, task timers, check and published events (``event_path_cpu.observed``), no
submission waiting and no ``budget_wait`` timer open; the old variant's wake-up fired one timer per request,
the new one's none. Reported: client CPU (this process) and backend CPU (``/proc`` of the connection's
PostgreSQL process) per request, medians, and the timer job's units of work per request.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/approvals/bench/budget_wait_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).parent))
from event_path_cpu import MIGRATIONS, backend_cpu, events, observed, seed

from backoffice_approvals.consumers import build_handlers
from backoffice_approvals.jobs import TimerSteps
from backoffice_approvals.models import approval_timer, messaging, pending_route
from backoffice_approvals.repository import budgets
from backoffice_approvals.repository.timers import next_due_at_now
from backoffice_approvals.service.timers import fire_due_timer
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_approvals.settings import Settings
from backoffice_common.db import make_session_factory
from backoffice_common.testing import private_database

WAIT = 0.05
SETTINGS = Settings(exchange_rates={"USD": "0.9"}, budget_check_wait_seconds=WAIT)
_COLUMNS = "id, request_id, revision, snapshot, submitted_event, created_at"
OLD_SQL = {  # the ninth round's: the wait's rows go, their timers stay open
    "_TAKE_SQL": f"DELETE FROM pending_route WHERE request_id = $1 AND revision = $2 RETURNING {_COLUMNS}",  # noqa: S608
    "_DROP_SQL": "DELETE FROM pending_route WHERE request_id = $1 AND revision <= $2 RETURNING id",
}
NEW_SQL = {name: getattr(budgets, name) for name in OLD_SQL}


@contextmanager
def statements(which: dict[str, str]) -> Any:
    for name, sql in which.items():
        setattr(budgets, name, sql)
    try:
        yield
    finally:
        for name, sql in NEW_SQL.items():
            setattr(budgets, name, sql)


class Job:
    """The timer job's steps, counting the units of work the wake-ups open."""

    def __init__(self, engine: Any, uow_of: Any) -> None:
        self.opened = 0

        def counted() -> ApprovalsUnitOfWork:
            self.opened += 1
            return uow_of()

        async def fire() -> bool:
            return await fire_due_timer(uow_factory=counted, settings=SETTINGS)

        async def look() -> Any:
            return await next_due_at_now(engine)

        self.steps = TimerSteps(look=look, fire=fire)

    async def wake(self) -> int:
        fired = 0
        while await self.steps.fire_one():
            fired += 1
        await self.steps.next_due_at()
        return fired


async def submissions_and_checks(uow_of: Any, request_ids: list[str]) -> None:
    """Each request's submission (it waits: its check is not known yet), then its check (routed)."""
    handlers = build_handlers(SETTINGS)
    for rid in request_ids:
        checked, submitted, _ = events(rid)
        for event in (submitted, checked):
            async with uow_of() as uow:
                await handlers[event.type](event, uow)
                await uow.commit()


async def one_round(uow_of: Any, job: Job, n: int) -> int:
    await submissions_and_checks(uow_of, [str(uuid.uuid4()) for _ in range(n)])
    await asyncio.sleep(WAIT * 2)  # the timers' time has come (wall time, no CPU)
    return await job.wake()


async def left_waiting(factory: Any, request_id: str) -> tuple[int, int]:
    async with factory() as session:
        waiting = (
            await session.execute(select(pending_route.c.id).where(pending_route.c.request_id == request_id))
        ).all()
        t = approval_timer.c
        open_waits = (await session.execute(select(t.id).where(t.kind == "budget_wait", t.fired_at.is_(None)))).all()
    return len(waiting), len(open_waits)


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        await seed(factory)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        uow_of = partial(ApprovalsUnitOfWork, factory, tables=messaging, service="approvals")
        job = Job(engine, uow_of)
        variants = {"old": OLD_SQL, "new": NEW_SQL}
        seen, fired = {}, {}
        for how, which in variants.items():
            with statements(which):
                rid = str(uuid.uuid4())
                await submissions_and_checks(uow_of, [rid])
                await asyncio.sleep(WAIT * 2)
                fired[how] = await job.wake()
                seen[how] = await observed(factory, rid)
                assert await left_waiting(factory, rid) == (0, 0), (how, await left_waiting(factory, rid))
        for key in seen["old"]:
            assert seen["old"][key] == seen["new"][key], (key, seen["old"][key], seen["new"][key])
        assert seen["new"]["tasks"], "no task"
        assert seen["new"]["published"], "nothing published"
        assert fired == {"old": 1, "new": 0}, fired
        for which in variants.values():  # warm-up
            with statements(which):
                await one_round(uow_of, job, 10)
        results: dict[str, tuple[list[float], list[float], list[float]]] = {k: ([], [], []) for k in variants}
        for r in range(rounds):
            order = list(variants.items()) if r % 2 == 0 else list(reversed(variants.items()))
            for how, which in order:
                with statements(which):
                    opened = job.opened
                    c0, s0 = time.process_time(), backend_cpu(pid)
                    wakes_fired = await one_round(uow_of, job, n)
                    client, server, units = results[how]
                    client.append((time.process_time() - c0) / n * 1000)
                    server.append((backend_cpu(pid) - s0) / n * 1000)
                    units.append((job.opened - opened) / n)
                    assert wakes_fired == (n if how == "old" else 0), (how, wakes_fired)
        await engine.dispose()
    load = os.getloadavg()
    print(f"a waiting submission, its check and its timer's wake-up: {rounds} x {n} requests per variant, alternated;")
    print(f"load {load[0]:.2f}/{load[1]:.2f}; the same chains, tasks, timers, checks and events from both (checked)")
    print(f"{'per request':14}{'client ms':>10}{'backend ms':>11}{'timer uows':>11}")
    for how, (client, server, units) in results.items():
        c, b, u = (statistics.median(x) for x in (client, server, units))
        print(f"  {how:12}{c:10.3f}{b:11.3f}{u:11.2f}")
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
