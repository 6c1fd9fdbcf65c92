"""The process's two email workers woken by one ring: a look each against one shared look (not a test).

Per iteration, the same for both: a burst of ``k`` emails (1, 2 and 3, as a flow has them: one at a time, the
two signing emails, the three of a generated contract) is recorded and committed in one transaction (as a
consumer does); then both workers (``jobs.deliveries._work``, index 0 and 1, one ``EmailClaims`` as
``delivery_job`` gives them) are woken together as by the ring and run until each goes to sleep.

- ``old``: each worker looks itself (``due_times``), as before the ninth round;
- ``new``: the workers' look is ``SharedLook`` (as ``delivery_job`` now gives it): the second worker joins the
  first one's look in flight (no ring comes during the bench).

The SMTP send is a stand-in that yields to the event loop for 2 ms (the same for both). Each variant in a
private, migrated database of its own, alternated round by round. Checked in every iteration: every email sent
exactly once, none pending; at the end both databases hold the same rows. Reported: client CPU (this process)
and the backends' (``/proc``) per burst, looks (statements) and units of work per burst.

    export BACKOFFICE_PROFILE=test; source deploy/env.sh
    .venv/bin/python services/notifications/bench/shared_look_cpu.py --n 60 --rounds 6
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import text

import backoffice_notifications
from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.testing import private_database
from backoffice_notifications.domain.deliveries import Delivery
from backoffice_notifications.jobs import deliveries as job
from backoffice_notifications.models import messaging
from backoffice_notifications.repository.deliveries import DueTimes, due_times
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings

MIGRATIONS = Path(backoffice_notifications.__file__).parent / "migrations"
TICKS = os.sysconf("SC_CLK_TCK")
BURSTS = (1, 2, 3)


def cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Asleep(Exception):
    """A worker went to sleep: its part of the wake-up is done."""


class StopEachAtSleep:
    def clear(self) -> None:
        pass

    async def wait(self, timeout: float) -> None:
        raise Asleep


class SlowNoSmtp:
    """Accepts every email after yielding for 2 ms (the same for both variants)."""

    def __init__(self, sent: list[str]) -> None:
        self.sent = sent

    async def send(self, message: Any) -> None:
        await asyncio.sleep(0.002)
        self.sent.append(message.message_id if hasattr(message, "message_id") else str(id(message)))


def an_email() -> Delivery:
    event_id = f"bench-{uuid.uuid4()}"
    return Delivery(
        id=str(uuid.uuid4()),
        event_id=event_id,
        correlation_id=event_id,
        request_id=str(uuid.uuid4()),
        revision=1,
        vendor_id="acme",
        channel="email",
        recipient="a@acme.test",
        template="purchase_order",
        language="de",
        subject="Bestellung PR-000123",
        body_text="Guten Tag,\n" * 40,
        body_html="<p>Guten Tag</p>" * 40,
        notifies_vendor=True,
    )


class Variant:
    def __init__(self, name: str) -> None:
        self.name = name
        self.client: dict[int, list[float]] = {k: [] for k in BURSTS}
        self.backend: dict[int, list[float]] = {k: [] for k in BURSTS}
        self.units: dict[int, list[float]] = {k: [] for k in BURSTS}
        self.looks_per: dict[int, list[float]] = {k: [] for k in BURSTS}
        self.looks = 0
        self.opened = 0
        self.pids: list[int] = []

    async def setup(self, stack: AsyncExitStack) -> None:
        url = await stack.enter_async_context(private_database(MIGRATIONS))
        engine = make_engine(url, pool_size=4)
        stack.push_async_callback(engine.dispose)
        sessions = make_session_factory(engine)

        def uow_factory() -> NotificationsUnitOfWork:
            self.opened += 1
            return NotificationsUnitOfWork(sessions, tables=messaging, service="notifications")

        async def look(now: datetime) -> DueTimes:
            self.looks += 1
            return await due_times(engine, now=now, cap=60)

        self.settings = Settings(
            environment="test",
            database_url=url,
            jwt_secret="j" * 40,
            secret_encryption_key=Fernet.generate_key().decode(),
            link_signing_key="l" * 40,
            log_json=False,
        )
        self.app = SimpleNamespace(state=SimpleNamespace(settings=self.settings, uow_factory=uow_factory))
        self.uow_factory, self.look = uow_factory, look
        self.sent: list[str] = []

    async def burst(self, k: int) -> None:
        async with self.uow_factory() as uow:
            for _ in range(k):
                assert await uow.deliveries.add(an_email())
            await uow.commit()
        self.opened -= 1
        before = len(self.sent)
        shared = job.EmailClaims()
        wakeup = StopEachAtSleep()
        look = job.SharedLook(self.look, lambda: 0) if self.name == "new" else self.look
        ended = await asyncio.gather(
            *(
                job._work(
                    self.app,  # type: ignore[arg-type]
                    None,  # type: ignore[arg-type]
                    wakeup,  # type: ignore[arg-type]
                    SlowNoSmtp(self.sent),  # type: ignore[arg-type]
                    look,
                    index=i,
                    claims=shared,
                )
                for i in range(2)
            ),
            return_exceptions=True,
        )
        assert all(isinstance(e, Asleep) for e in ended), ended
        assert len(self.sent) == before + k

    async def sql(self, statement: str) -> list[tuple[Any, ...]]:
        async with self.uow_factory() as uow:
            rows = [tuple(r) for r in await uow.session.execute(text(statement))]
        self.opened -= 1
        return rows

    async def backends(self) -> list[int]:
        rows = await self.sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'"
        )
        return [int(r[0]) for r in rows]


async def run(n: int, rounds: int) -> None:
    variants = [Variant("old"), Variant("new")]
    async with AsyncExitStack() as stack:
        for v in variants:
            await v.setup(stack)
            for k in BURSTS * 5:
                await v.burst(k)
            v.pids = await v.backends()
        for r in range(rounds):
            for k in BURSTS:
                for v in variants if r % 2 == 0 else list(reversed(variants)):
                    opened, looks = v.opened, v.looks
                    c0, s0 = time.process_time(), sum(cpu_of(p) for p in v.pids)
                    for _ in range(n):
                        await v.burst(k)
                    v.client[k].append((time.process_time() - c0) / n * 1000)
                    v.backend[k].append((sum(cpu_of(p) for p in v.pids) - s0) / n * 1000)
                    v.units[k].append((v.opened - opened) / n)
                    v.looks_per[k].append((v.looks - looks) / n)
        query = (
            "SELECT (SELECT count(*) FROM delivery WHERE status = 'sent'), (SELECT count(*) FROM delivery"
            " WHERE status <> 'sent'), (SELECT count(*) FROM outbox_message WHERE event_type = 'vendor.notified')"
        )
        counts = [await v.sql(query) for v in variants]
        assert counts[0] == counts[1], counts
        for v in variants:
            assert set(await v.backends()) >= set(v.pids)  # the measured backends did the work
    load = os.getloadavg()
    print(f"two email workers woken by one ring per burst, {rounds} x {n} alternated; load {load[0]:.2f}/{load[1]:.2f}")
    print(f"  the same rows in both (sent, not sent, vendor.notified): {counts[0]}")
    print("  (each includes recording the burst and committing it, the same in both; SMTP a 2 ms yield)")
    for k in BURSTS:
        for v in variants:
            print(
                f"  {k} email(s) {v.name}: client {statistics.median(v.client[k]):.3f} ms,"
                f" backend {statistics.median(v.backend[k]):.3f} ms;"
                f" units of work {statistics.mean(v.units[k]):.2f}, looks {statistics.mean(v.looks_per[k]):.2f}"
                f"   (client rounds {', '.join(f'{x:.2f}' for x in v.client[k])})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
