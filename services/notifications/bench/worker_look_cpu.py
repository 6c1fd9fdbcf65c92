"""The delivery worker per wake-up with one email due, fifth round against sixth (not a test).

Per iteration, the same for both: one email delivery to a vendor is recorded and committed (as a consumer does),
then the worker's loop (``jobs.deliveries._work``) runs from its wake-up until it goes to sleep again:

- ``old`` (fifth round, copied below): a pass over both channels (the email's unit of work: claim, send, record,
  ``vendor.notified`` in the outbox, commit; the webhooks' unit of work: a claim that finds nothing, rolled
  back), then the next due time in a unit of work of its own (``driver_connection``'s BEGIN, the ``min()``, the
  rollback);
- ``new`` (``_work`` as it is): the look (``due_times``, one autocommitted statement), a pass over the email
  channel only (the same unit of work), the look again, which gives the sleep.

The SMTP send is a no-op (the same in both: this measures the worker's database work and its Python around it).
Each variant in a private, migrated database of its own (pool of 2: the old pass opens both units of work at
once), alternated round by round. Checked before the figures count: in every iteration both sent the email and
went to sleep for the same time (the idle poll: nothing pending); afterwards both databases hold the same rows
(every email sent, none pending, one ``vendor_notification`` and one ``vendor.notified`` outbox row per email).
Reported: client CPU (this process) and the backends' (``/proc`` of the database's connections) per wake-up,
and the units of work and looks per wake-up.

    export BACKOFFICE_PROFILE=test; source deploy/env.sh
    .venv/bin/python services/notifications/bench/worker_look_cpu.py --n 150 --rounds 6
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from contextlib import AsyncExitStack, suppress
from datetime import UTC, datetime
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
from backoffice_notifications.repository.deliveries import due_times
from backoffice_notifications.service.uow import NotificationsUnitOfWork, notifications_uow
from backoffice_notifications.settings import Settings

MIGRATIONS = Path(backoffice_notifications.__file__).parent / "migrations"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Asleep(Exception):
    """Raised by the wakeup when the worker goes to sleep: one wake-up done."""


class Wakeup:
    def __init__(self) -> None:
        self.timeouts: list[float] = []

    def clear(self) -> None:
        pass

    async def wait(self, timeout: float) -> None:
        self.timeouts.append(timeout)
        raise Asleep


class NoSmtp:
    """The SMTP session's place: accepts every email at no cost (the same for both variants)."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, message: object) -> None:
        self.sent += 1


# --- the fifth round's loop, as it was -------------------------------------------------------------------------


async def old_idle_wait(*, uow_factory: Any, settings: Settings) -> float:
    async with uow_factory() as opened:
        due = await notifications_uow(opened).deliveries.next_due()
    return job.wait_until_due(due, now=datetime.now(UTC), settings=settings)


async def old_work(app: Any, http: Any, wakeup: Any, smtp: Any) -> None:
    settings: Settings = app.state.settings
    full = settings.delivery_batch_size
    while True:
        wakeup.clear()
        emails, hooks = await job._pass(uow_factory=app.state.uow_factory, settings=settings, http=http, smtp=smtp)
        if emails < full and hooks < full:
            await wakeup.wait(await old_idle_wait(uow_factory=app.state.uow_factory, settings=settings))


async def new_work(app: Any, http: Any, wakeup: Any, smtp: Any) -> None:
    await job._work(app, http, wakeup, smtp, app.state.look)


# ----------------------------------------------------------------------------------------------------------------


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
    def __init__(self, name: str, work: Any) -> None:
        self.name, self.work = name, work
        self.client: list[float] = []
        self.backend: list[float] = []
        self.opened = 0
        self.looks = 0
        self.wakes = 0

    async def setup(self, stack: AsyncExitStack) -> None:
        url = await stack.enter_async_context(private_database(MIGRATIONS))
        engine = make_engine(url, pool_size=2)
        stack.push_async_callback(engine.dispose)
        sessions = make_session_factory(engine)

        def uow_factory() -> NotificationsUnitOfWork:
            self.opened += 1
            return NotificationsUnitOfWork(sessions, tables=messaging, service="notifications")

        async def look(now: datetime) -> Any:
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
        self.app = SimpleNamespace(state=SimpleNamespace(settings=self.settings, uow_factory=uow_factory, look=look))
        self.uow_factory = uow_factory
        self.smtp = NoSmtp()
        self.wakeup = Wakeup()
        self.url = url

    async def backends(self) -> list[int]:
        async with self.uow_factory() as uow:
            rows = await uow.session.execute(
                text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND backend_type = 'client backend'"
                )
            )
            self.opened -= 1
            return [int(r[0]) for r in rows]

    async def one(self) -> None:
        async with self.uow_factory() as uow:
            assert await uow.deliveries.add(an_email())
            await uow.commit()
        self.opened -= 1
        sent = self.smtp.sent
        with suppress(Asleep):
            await self.work(self.app, None, self.wakeup, self.smtp)
        self.wakes += 1
        assert self.smtp.sent == sent + 1
        assert self.wakeup.timeouts[-1] == self.settings.delivery_idle_poll_seconds  # nothing pending left

    async def rows(self) -> tuple[int, ...]:
        async with self.uow_factory() as uow:
            query = text(
                "SELECT (SELECT count(*) FROM delivery WHERE status = 'sent'),"
                " (SELECT count(*) FROM delivery WHERE status <> 'sent'),"
                " (SELECT count(*) FROM vendor_notification),"
                " (SELECT count(*) FROM outbox_message WHERE event_type = 'vendor.notified')"
            )
            return tuple((await uow.session.execute(query)).one())


async def run(n: int, rounds: int) -> None:
    variants = [Variant("old", old_work), Variant("new", new_work)]
    async with AsyncExitStack() as stack:
        for v in variants:
            await v.setup(stack)
            for _ in range(20):
                await v.one()
            v.pids = await v.backends()
            v.opened = v.looks = v.wakes = 0
        for r in range(rounds):
            for v in variants if r % 2 == 0 else reversed(variants):
                c0, s0 = time.process_time(), sum(cpu_of(p) for p in v.pids)
                for _ in range(n):
                    await v.one()
                v.client.append((time.process_time() - c0) / n * 1000)
                v.backend.append((sum(cpu_of(p) for p in v.pids) - s0) / n * 1000)
        counts = [await v.rows() for v in variants]
        assert counts[0] == counts[1], counts
        total = 20 + n * rounds
        assert counts[0] == (total, 0, total, total), counts
        assert set(await variants[0].backends()) == set(variants[0].pids)  # the measured backends did the work
        assert set(await variants[1].backends()) == set(variants[1].pids)
    load = os.getloadavg()
    print(f"delivery worker, one email due per wake-up, {rounds} x {n} alternated; load {load[0]:.2f}/{load[1]:.2f}")
    print("  (each includes recording the email and committing it, the same in both; SMTP a no-op)")
    for v in variants:
        print(
            f"  {v.name}: client {statistics.median(v.client):.3f} ms, backend {statistics.median(v.backend):.3f} ms;"
            f" units of work per wake-up {v.opened / v.wakes:.2f}, looks {v.looks / v.wakes:.2f}"
            f"   (client rounds {', '.join(f'{x:.3f}' for x in v.client)};"
            f" backend {', '.join(f'{x:.3f}' for x in v.backend)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
