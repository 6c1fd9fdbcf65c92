"""CPU of notifications' contract and vendor-webhook statements, SQLAlchemy Core against raw asyncpg (not a test).

Two operations of every flow against a private, migrated database of the current profile's PostgreSQL:

- ``contract``: a contract's life in the read model: ``contract.generated`` adds it, the vendor's signed
  webhook remembers its id, reads the vendor's secrets and reads the contract under the lock, saves it
  signed; ``contract.executed`` sets its status; the order's first delivery to reach the vendor is
  recorded; committed;
- ``webhook``: a repeated webhook id (remembered already) and the secrets read, rolled back.

This checkout's repositories (raw asyncpg through ``driver_connection``) and the Core statements they
replaced (copied below) are alternated round by round in the same run. Before timing, the rows both paths
store are compared and both read the same. Reported: client CPU (this process) and backend CPU (``/proc``
of the connection's PostgreSQL process) per operation, medians of ``--rounds``.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/notifications/bench/contract_path_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

import backoffice_notifications
from backoffice_common.db import make_session_factory
from backoffice_common.testing import private_database
from backoffice_notifications.domain.contracts import Contract
from backoffice_notifications.domain.deliveries import Delivery
from backoffice_notifications.models import contract_view, received_webhook, vendor, vendor_notification, vendor_secret
from backoffice_notifications.repository import DeliveryRepository, VendorRepository
from backoffice_notifications.repository.contracts import ContractRepository
from backoffice_notifications.repository.webhooks import ReceivedWebhookRepository

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_notifications.__file__).parent / "migrations"


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Core:
    """The Core statements before (as they were)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, contract: Contract) -> None:
        await self.session.execute(
            pg_insert(contract_view)
            .values(
                contract_id=contract.contract_id, request_id=contract.request_id, vendor_id=contract.vendor_id,
                document_sha256=contract.document_sha256, document_url=contract.document_url,
                expires_at=contract.expires_at, status=contract.status,
            )
            .on_conflict_do_nothing()
        )  # fmt: skip

    async def get(self, contract_id: str, *, lock: bool = False) -> Contract | None:
        query = select(contract_view).where(contract_view.c.contract_id == contract_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        if row is None:
            return None
        return Contract(**{k: row[k] for k in Contract.__dataclass_fields__ if k != "events"})

    async def save(self, contract: Contract) -> None:
        await self.session.execute(
            contract_view.update()
            .where(contract_view.c.contract_id == contract.contract_id)
            .values(status=contract.status, signed_at=contract.signed_at)
        )

    async def set_status(self, contract_id: str, status: str) -> str | None:
        result = await self.session.execute(
            contract_view.update()
            .where(contract_view.c.contract_id == contract_id)
            .values(status=status)
            .returning(contract_view.c.vendor_id)
        )
        vendor_id: str | None = result.scalar_one_or_none()
        return vendor_id

    async def remember(self, *, vendor_id: str, webhook_id: str) -> bool:
        fresh = await self.session.execute(
            pg_insert(received_webhook)
            .values(vendor_id=vendor_id, webhook_id=webhook_id)
            .on_conflict_do_nothing()
            .returning(received_webhook.c.webhook_id)
        )
        return fresh.scalar_one_or_none() is not None

    async def active_secret_ciphertexts(self, vendor_id: str, *, now: datetime) -> list[str]:
        rows = await self.session.execute(
            select(vendor_secret.c.ciphertext)
            .where(
                vendor_secret.c.vendor_id == vendor_id,
                or_(vendor_secret.c.expires_at.is_(None), vendor_secret.c.expires_at > now),
            )
            .order_by(vendor_secret.c.created_at.desc())
        )
        return list(rows.scalars().all())

    async def first_to_reach_vendor(self, sent: Delivery) -> bool:
        result = await self.session.execute(
            pg_insert(vendor_notification)
            .values(request_id=sent.request_id, revision=sent.revision, vendor_id=sent.vendor_id, channel=sent.channel)
            .on_conflict_do_nothing()
            .returning(vendor_notification.c.request_id)
        )
        return result.scalar_one_or_none() is not None


class Raw:
    """This checkout's repositories."""

    def __init__(self, session: AsyncSession) -> None:
        def track(_: Any) -> None:
            return None

        contracts = ContractRepository(session, track)
        self.add, self.get, self.save, self.set_status = (
            contracts.add,
            contracts.get,
            contracts.save,
            contracts.set_status,
        )
        self.remember = ReceivedWebhookRepository(session, track).remember
        self.active_secret_ciphertexts = VendorRepository(session, track).active_secret_ciphertexts
        self.first_to_reach_vendor = DeliveryRepository(session, track).first_to_reach_vendor


PATHS: dict[str, Callable[[AsyncSession], Any]] = {"core": Core, "raw": Raw}


async def contract_life(repo: Any, vendor_id: str, now: datetime) -> tuple[Any, ...]:
    contract_id = str(uuid.uuid4())
    new = Contract(contract_id, str(uuid.uuid4()), vendor_id, "ab" * 32, "http://x.example/d.pdf", now)
    await repo.add(new)
    await repo.add(new)  # a redelivery changes nothing
    fresh = await repo.remember(vendor_id=vendor_id, webhook_id=f"msg_{contract_id}")
    secrets = await repo.active_secret_ciphertexts(vendor_id, now=now)
    found = await repo.get(contract_id, lock=True)
    assert found is not None
    loaded = dataclasses.replace(found)
    found.status, found.signed_at = "signed", now
    await repo.save(found)
    executed_vendor = await repo.set_status(contract_id, "executed")
    sent = Delivery(
        id=str(uuid.uuid4()), event_id="e", correlation_id="c", request_id=new.request_id, revision=1,
        vendor_id=vendor_id, notifies_vendor=True, channel="email", recipient="v@example.com", template="t",
        language="en",
    )  # fmt: skip
    first = await repo.first_to_reach_vendor(sent), await repo.first_to_reach_vendor(sent)
    return contract_id, fresh, secrets, loaded, executed_vendor, first


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        now = datetime.now(UTC)
        vendor_id = str(uuid.uuid4())
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            await session.execute(
                insert(vendor).values(
                    id=vendor_id, legal_name="Acme", address="Street 1", contact_emails=["v@example.com"],
                    language="en", status="active",
                )
            )  # fmt: skip
            for k, expires in enumerate((None, now + timedelta(days=1), now - timedelta(days=1))):
                await session.execute(
                    insert(vendor_secret).values(
                        id=str(uuid.uuid4()), vendor_id=vendor_id, ciphertext=f"secret-{k}",
                        created_at=now + timedelta(seconds=k), expires_at=expires,
                    )
                )  # fmt: skip
            await session.commit()

        stored: dict[str, Any] = {}
        for how, make in PATHS.items():
            async with factory() as session:
                life = await contract_life(make(session), vendor_id, now)
                await session.commit()
                row = (
                    await session.execute(
                        text(
                            "SELECT status, signed_at, expires_at, document_url, vendor_id FROM contract_view"
                            " WHERE contract_id = :id"
                        ),
                        {"id": life[0]},
                    )
                ).one()
                stored[how] = (life[1:], tuple(row))
        for how in PATHS:  # the contract ids differ: compare the rest
            fresh, secrets, loaded, executed_vendor, first = stored[how][0]
            stored[how] = (
                fresh,
                secrets,
                dataclasses.replace(loaded, contract_id="", request_id=""),
                executed_vendor,
                first,
                stored[how][1],
            )
        assert stored["core"] == stored["raw"], stored
        assert stored["raw"][1] == ["secret-1", "secret-0"]
        assert stored["raw"][4] == (True, False)

        def op(what: str, how: str) -> Callable[[], Awaitable[None]]:
            async def one() -> None:
                async with factory() as session:
                    repo = PATHS[how](session)
                    if what == "contract":
                        await contract_life(repo, vendor_id, now)
                        await session.commit()
                    else:
                        assert not await repo.remember(vendor_id=vendor_id, webhook_id="msg_seen")
                        await repo.active_secret_ciphertexts(vendor_id, now=now)
                        await session.rollback()

            return one

        async with factory() as session:
            await Core(session).remember(vendor_id=vendor_id, webhook_id="msg_seen")
            await session.commit()
        ops = {(what, how): op(what, how) for what in ("contract", "webhook") for how in PATHS}
        results: dict[tuple[str, str], tuple[list[float], list[float]]] = {k: ([], []) for k in ops}
        for fn in ops.values():  # warm-up
            for _ in range(20):
                await fn()
        for _ in range(rounds):
            for k, fn in ops.items():
                c0, s0 = time.process_time(), backend_cpu(pid)
                for _ in range(n):
                    await fn()
                results[k][0].append((time.process_time() - c0) / n * 1000)
                results[k][1].append((backend_cpu(pid) - s0) / n * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"notifications' contract and webhook statements, {rounds} x {n}, alternated; load {load[0]:.2f}")
    print(f"{'':20}{'client ms':>10}{'backend ms':>11}")
    for (what, how), (client, server) in results.items():
        print(f"  {what:9} {how:8}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")
    for what in ("contract", "webhook"):
        core, raw = results[(what, "core")], results[(what, "raw")]
        c = statistics.median(raw[0]) / statistics.median(core[0])
        s = statistics.median(raw[1]) / statistics.median(core[1]) if statistics.median(core[1]) else float("nan")
        print(f"  {what}: raw/core client {c:.2f}, backend {s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
