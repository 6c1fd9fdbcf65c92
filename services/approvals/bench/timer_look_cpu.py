"""The timer job per wake-up, the sixth round's steps against a look before the claim (not a test).

What the shared loop (``backoffice_common.wakeup.run_until_due_loop``) does at a wake-up: ``do_one`` until it
finds nothing, then ``next_due_at`` for the sleep. Two kinds of wake-up, both in a flow:

- ``idle``: nothing due (a ``budget_wait`` timer's ring, or its time come after the check closed it);
- ``one``: one timer due (it is fired: claim, the timer's work, ``mark_fired``, commit).

``old`` (as it was, copied below): every ``do_one`` a claim in a unit of work (BEGIN, the claim, ROLLBACK when
empty), then ``next_due_at`` in a unit of work of its own (BEGIN, ``min(fire_at)``, ROLLBACK). ``new``
(``jobs.TimerSteps`` over ``repository.timers.next_due_at_now``): a look (one statement on a read connection)
before each claim, the claim's unit of work only for a due timer, the sleep from the last look.

Each variant in a private, migrated database of its own, the same timers, alternated round by round. Checked
before the figures count: in every iteration both fired the due timer (``one``) and slept for the same next due
time (a timer an hour away that stays); at the end both databases hold the same timers. Reported: client CPU
(this process) and the backends' (``/proc``) per wake-up, and the units of work and looks per wake-up.

    export BACKOFFICE_PROFILE=test; source deploy/env.sh
    .venv/bin/python services/approvals/bench/timer_look_cpu.py --n 150 --rounds 6
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

import backoffice_approvals
from backoffice_approvals.jobs import TimerSteps
from backoffice_approvals.models import messaging
from backoffice_approvals.repository.timers import next_due_at_now
from backoffice_approvals.service.timers import fire_due_timer
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_approvals.settings import Settings
from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.testing import private_database

MIGRATIONS = Path(backoffice_approvals.__file__).parent / "migrations"
TICKS = os.sysconf("SC_CLK_TCK")
SETTINGS = Settings(exchange_rates={"USD": "0.9"})
LATER = datetime.now(UTC) + timedelta(hours=1)


def cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


Steps = tuple[Callable[[], Awaitable[bool]], Callable[[], Awaitable[datetime | None]]]


class Variant:
    def __init__(self, name: str) -> None:
        self.name = name
        self.client: dict[str, list[float]] = {"idle": [], "one": []}
        self.backend: dict[str, list[float]] = {"idle": [], "one": []}
        self.opened = 0
        self.looks = 0
        self.wakes = 0
        self.pids: list[int] = []

    async def setup(self, stack: AsyncExitStack) -> None:
        url = await stack.enter_async_context(private_database(MIGRATIONS))
        self.engine = make_engine(url, pool_size=2)
        stack.push_async_callback(self.engine.dispose)
        sessions = make_session_factory(self.engine)

        def uow_factory() -> ApprovalsUnitOfWork:
            self.opened += 1
            return ApprovalsUnitOfWork(sessions, tables=messaging, service="approvals")

        self.uow_factory = uow_factory

        async def fire() -> bool:
            return await fire_due_timer(uow_factory=uow_factory, settings=SETTINGS)

        if self.name == "old":

            async def next_due_at() -> datetime | None:  # the sixth round's, in a unit of work
                async with uow_factory() as uow:
                    return await uow.timers.next_due_at()

            self.steps: Steps = (fire, next_due_at)
        else:

            async def look() -> datetime | None:
                self.looks += 1
                return await next_due_at_now(self.engine)

            timer_steps = TimerSteps(look=look, fire=fire)
            self.steps = (timer_steps.fire_one, timer_steps.next_due_at)
        await self.sql("INSERT INTO approval_timer (kind, ref_id, fire_at) VALUES ('reminder', 'later', :at)", at=LATER)

    async def sql(self, statement: str, **params: object) -> list[tuple[object, ...]]:
        async with self.uow_factory() as uow:
            result = await uow.session.execute(text(statement), params)
            rows = [tuple(r) for r in result] if result.returns_rows else []  # type: ignore[attr-defined]
            await uow.commit()
        self.opened -= 1
        return rows

    async def wake(self, kind: str) -> None:
        """One wake-up of the loop: ``do_one`` until nothing, then the next due time."""
        if kind == "one":  # no chain has this task: the reminder finds nothing to remind, and is marked fired
            ref = str(uuid.uuid4())
            await self.sql(
                "INSERT INTO approval_timer (kind, ref_id, fire_at) VALUES ('reminder', :ref, :at)",
                ref=ref,
                at=datetime.now(UTC) - timedelta(seconds=1),
            )
        do_one, next_due_at = self.steps
        fired = 0
        while await do_one():
            fired += 1
        assert fired == (1 if kind == "one" else 0), (self.name, kind, fired)
        assert await next_due_at() == LATER
        self.wakes += 1

    async def backends(self) -> list[int]:
        rows = await self.sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'"
        )
        return [int(r[0]) for r in rows]  # type: ignore[call-overload]


async def run(n: int, rounds: int) -> None:
    variants = [Variant("old"), Variant("new")]
    async with AsyncExitStack() as stack:
        for v in variants:
            await v.setup(stack)
            for kind in ("idle", "one") * 10:
                await v.wake(kind)
            v.pids = await v.backends()
            v.opened = v.looks = v.wakes = 0
        counts: dict[str, dict[str, list[float]]] = {v.name: {"opened": [], "looks": []} for v in variants}
        for r in range(rounds):
            for kind in ("idle", "one"):
                for v in variants if r % 2 == 0 else list(reversed(variants)):
                    opened, looks, wakes = v.opened, v.looks, v.wakes
                    c0, s0 = time.process_time(), sum(cpu_of(p) for p in v.pids)
                    for _ in range(n):
                        await v.wake(kind)
                    v.client[kind].append((time.process_time() - c0) / n * 1000)
                    v.backend[kind].append((sum(cpu_of(p) for p in v.pids) - s0) / n * 1000)
                    if r == 0:
                        counts[v.name]["opened"].append(round((v.opened - opened) / n, 2))
                        counts[v.name]["looks"].append(round((v.looks - looks) / (v.wakes - wakes), 2))
        stored = [
            await v.sql("SELECT kind, count(*), count(fired_at) FROM approval_timer GROUP BY kind ORDER BY kind")
            for v in variants
        ]
        assert stored[0] == stored[1], stored
        for v in variants:
            assert set(await v.backends()) == set(v.pids)  # the measured backends did the work
    load = os.getloadavg()
    print(f"timer job per wake-up, {rounds} x {n} alternated; load {load[0]:.2f}/{load[1]:.2f}")
    print("  ('one' includes inserting the due timer and committing it, the same in both)")
    for v in variants:
        for i, kind in enumerate(("idle", "one")):
            print(
                f"  {v.name} {kind:>4}: client {statistics.median(v.client[kind]):.3f} ms,"
                f" backend {statistics.median(v.backend[kind]):.3f} ms;"
                f" units of work of the job {counts[v.name]['opened'][i]:.2f}, looks {counts[v.name]['looks'][i]:.2f}"
                f"   (client rounds {', '.join(f'{x:.3f}' for x in v.client[kind])})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
