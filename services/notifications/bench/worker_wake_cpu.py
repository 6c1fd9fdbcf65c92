"""The delivery worker's email work per wake-up with one email due, fourth round against fifth (not a test).

Per iteration, the same for both: one email delivery is recorded and committed (as a consumer does). Then
what the worker's ``send_emails`` does with it:

- ``old`` (fourth round, copied below): claim one due email (``driver_connection``: an empty statement
  begins the transaction, then the claim), record it sent, commit; then the claim that finds nothing more,
  rolled back;
- ``new``: ``claim_due_and_more`` (the claim begins the transaction itself and says whether another email
  was due), record it sent, commit; no second claim.

Each variant in a private, migrated database of its own, alternated round by round; afterwards both must
have every email sent and none pending. Reported: client CPU (this process) and the backend's (``/proc``)
per wake-up. Transactions per wake-up: 3 old (record, send, empty claim), 2 new.

    export BACKOFFICE_PROFILE=test; source deploy/env.sh
    .venv/bin/python services/notifications/bench/worker_wake_cpu.py --n 200 --rounds 6
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

import backoffice_notifications
from backoffice_common.db import driver_connection, make_session_factory
from backoffice_common.testing import private_database
from backoffice_notifications.domain.deliveries import Delivery
from backoffice_notifications.repository.deliveries import _CLAIM_SQL, DeliveryRepository

MIGRATIONS = Path(backoffice_notifications.__file__).parent / "migrations"
TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def repo(session: AsyncSession) -> DeliveryRepository:
    return DeliveryRepository(session, lambda _: None)


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


async def old_claim(session: AsyncSession, *, now: datetime) -> list[Delivery]:
    conn = await driver_connection(session)
    r = repo(session)
    return [r._loaded(row) for row in await conn.fetch(_CLAIM_SQL, now, "email", 1)]


async def wake_old(factory: Any) -> None:
    async with factory() as session:
        due = await old_claim(session, now=datetime.now(UTC))
        assert len(due) == 1
        due[0].sent(now=datetime.now(UTC))
        await repo(session).save(due[0])
        await session.commit()
    async with factory() as session:
        assert await old_claim(session, now=datetime.now(UTC)) == []
        await session.rollback()


async def wake_new(factory: Any) -> None:
    async with factory() as session:
        due, more = await repo(session).claim_due_and_more(now=datetime.now(UTC), limit=1, channel="email")
        assert len(due) == 1
        assert not more
        due[0].sent(now=datetime.now(UTC))
        await repo(session).save(due[0])
        await session.commit()


class Variant:
    def __init__(self, name: str, wake: Any) -> None:
        self.name, self.wake = name, wake
        self.client: list[float] = []
        self.backend: list[float] = []

    async def setup(self, stack: AsyncExitStack) -> None:
        url = await stack.enter_async_context(private_database(MIGRATIONS))
        self.db = url.rsplit("/", 1)[1]
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        stack.push_async_callback(engine.dispose)
        self.factory = make_session_factory(engine)
        async with self.factory() as session:
            self.pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())

    async def one(self) -> None:
        async with self.factory() as session:
            assert await repo(session).add(an_email())
            await session.commit()
        await self.wake(self.factory)

    async def pending(self) -> int:
        async with self.factory() as session:
            query = text("SELECT count(*) FROM delivery WHERE status = 'pending'")
            return int((await session.execute(query)).scalar_one())


async def run(n: int, rounds: int) -> None:
    variants = [Variant("old", wake_old), Variant("new", wake_new)]
    async with AsyncExitStack() as stack:
        for v in variants:
            await v.setup(stack)
            for _ in range(30):
                await v.one()
        for r in range(rounds):
            for v in variants if r % 2 == 0 else reversed(variants):
                c0, s0 = time.process_time(), backend_cpu(v.pid)
                for _ in range(n):
                    await v.one()
                v.client.append((time.process_time() - c0) / n * 1000)
                v.backend.append((backend_cpu(v.pid) - s0) / n * 1000)
        for v in variants:
            assert await v.pending() == 0
    load = os.getloadavg()
    print(f"delivery worker, one email per wake-up, {rounds} x {n} alternated; load {load[0]:.2f}/{load[1]:.2f}")
    print("  (each includes recording the email and committing it, the same in both)")
    for v in variants:
        print(
            f"  {v.name}: client {statistics.median(v.client):.3f} ms, backend {statistics.median(v.backend):.3f} ms,"
            f"   (client rounds {', '.join(f'{x:.3f}' for x in v.client)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
