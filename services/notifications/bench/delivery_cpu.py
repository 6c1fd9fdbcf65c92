"""CPU of the notifications service's hot statements, SQLAlchemy Core against raw asyncpg (not a test).

Four operations against a private, migrated database of the current profile's PostgreSQL:

- ``order``: what an order's ``submitted`` and ``approved`` ask of the order view, the vendor and the link
  table: the snapshot upserted twice (strictly newer, then same or newer), the order read, the vendor read,
  a respond link inserted and read back, the order saved as sent, committed;
- ``record``: what an approved order writes: two emails (one per vendor contact) and a webhook delivery
  with its payload, each waking the delivery workers, committed;
- ``send``: what the delivery worker does per email: claim one due email (``FOR UPDATE SKIP LOCKED``),
  record it sent, commit; then the claim that finds nothing more, rolled back;
- ``idle``: the worker's look for the next due time before it sleeps.

Each is run with the repository of this checkout (raw asyncpg through ``driver_connection``) and with the
SQLAlchemy Core statements it replaced (copied below), alternated round by round in the same run, so the
machine's load hits both alike. Reported: client CPU (this process) and backend CPU (``/proc`` of the
connection's PostgreSQL process) per operation, medians of ``--rounds`` rounds. Before timing, the rows both
paths store are compared column by column, and the deliveries both claim.

    export BACKOFFICE_PROFILE=test; source deploy/env.sh
    .venv/bin/python services/notifications/bench/delivery_cpu.py --n 200 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

import backoffice_notifications
from backoffice_common.db import make_session_factory
from backoffice_common.testing import private_database
from backoffice_common.wakeup import notify_after_commit
from backoffice_notifications.domain.deliveries import PENDING, Delivery
from backoffice_notifications.domain.links import Link
from backoffice_notifications.models import delivery, order_view, vendor, vendor_link
from backoffice_notifications.repository import (
    DELIVERY_CHANNEL,
    DeliveryRepository,
    LinkRepository,
    OrderRepository,
    VendorRepository,
)

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_notifications.__file__).parent / "migrations"
STORED = (
    "event_id",
    "correlation_id",
    "request_id",
    "revision",
    "vendor_id",
    "channel",
    "recipient",
    "template",
    "language",
    "subject",
    "body_text",
    "body_html",
    "payload",
    "notifies_vendor",
    "status",
)
OUTCOME = ("status", "attempts", "next_attempt_at", "last_error", "sent_at")


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _loaded(row: Any) -> Delivery:
    return Delivery(**{k: row[k] for k in Delivery.__dataclass_fields__ if k != "events"})


class CoreDeliveries:
    """The statements ``DeliveryRepository`` ran before (SQLAlchemy Core)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, new: Delivery) -> bool:
        values = {k: getattr(new, k) for k in STORED}
        stmt = pg_insert(delivery).values(id=new.id, dedup_key=new.dedup_key, **values)
        result = await self.session.execute(
            stmt.on_conflict_do_nothing(index_elements=["dedup_key"]).returning(delivery.c.id)
        )
        inserted = result.scalar_one_or_none() is not None
        if inserted:
            await notify_after_commit(self.session, DELIVERY_CHANNEL)
        return inserted

    async def claim_due(self, *, now: datetime, limit: int, channel: str) -> list[Delivery]:
        query = (
            select(delivery)
            .where(delivery.c.status == PENDING, delivery.c.next_attempt_at <= now, delivery.c.channel == channel)
            .order_by(delivery.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_loaded(row) for row in (await self.session.execute(query)).mappings().all()]

    async def save(self, changed: Delivery) -> None:
        values = {k: getattr(changed, k) for k in OUTCOME}
        if values["next_attempt_at"] is None:
            del values["next_attempt_at"]
        await self.session.execute(delivery.update().where(delivery.c.id == changed.id).values(**values))

    async def next_due(self) -> datetime | None:
        query = select(func.min(delivery.c.next_attempt_at)).where(delivery.c.status == PENDING)
        due: datetime | None = (await self.session.execute(query)).scalar_one_or_none()
        return due


Repo = Callable[[AsyncSession], Any]


async def order_core(session: AsyncSession, request_id: str, link: Link) -> dict[str, Any]:
    """The order path's statements as SQLAlchemy Core ran them."""
    snapshot = {"request_id": request_id, "revision": 1, "vendor_id": "acme", "number": "PR-1", "lines": [{"no": 1}]}
    for status, strictly in (("in_approval", True), ("awaiting_vendor", False)):
        stmt = pg_insert(order_view).values(
            request_id=request_id, revision=1, vendor_id="acme", status=status, snapshot=snapshot
        )
        rule = (
            order_view.c.revision < stmt.excluded.revision
            if strictly
            else order_view.c.revision <= stmt.excluded.revision
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=["request_id"],
            set_={
                **{k: stmt.excluded[k] for k in ("revision", "vendor_id", "status", "snapshot")},
                "updated_at": func.now(),
            },
            where=and_(order_view.c.status != "cancelled", rule),
        ).returning(order_view.c.request_id)
        await session.execute(upsert)
    order = dict(
        (await session.execute(select(order_view).where(order_view.c.request_id == request_id))).mappings().one()
    )
    found = dict((await session.execute(select(vendor).where(vendor.c.id == "acme"))).mappings().one())
    values = {
        k: getattr(link, k)
        for k in ("id", "purpose", "request_id", "revision", "vendor_id", "contract_id", "expires_at")
    }
    await session.execute(vendor_link.insert().values(**values))
    stored = dict((await session.execute(select(vendor_link).where(vendor_link.c.id == link.id))).mappings().one())
    await session.execute(
        order_view.update()
        .where(order_view.c.request_id == request_id)
        .values(status="awaiting_vendor", sent_to_vendor_id="acme")
    )
    await session.commit()
    return {
        "order": {k: order[k] for k in ("revision", "vendor_id", "status", "snapshot")},
        "vendor": found,
        "link": stored,
    }


async def order_raw(session: AsyncSession, request_id: str, link: Link) -> dict[str, Any]:
    snapshot = {"request_id": request_id, "revision": 1, "vendor_id": "acme", "number": "PR-1", "lines": [{"no": 1}]}
    orders = OrderRepository(session, lambda _: None)
    await orders.save_snapshot(snapshot, status="in_approval", strictly_newer=True)
    await orders.save_snapshot(snapshot, status="awaiting_vendor")
    order = await orders.get(request_id)
    assert order is not None
    found = await VendorRepository(session, lambda _: None).get("acme")
    assert found is not None
    links = LinkRepository(session, lambda _: None)
    await links.add(link)
    stored = await links.get(link.id)
    order.sent_to("acme")
    await orders.save(order)
    await session.commit()
    return {"order": order, "vendor": found, "link": stored}


def a_link(request_id: str) -> Link:
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    return Link(str(uuid.uuid4()), "respond_order", request_id, 1, "acme", None, expires)


def raw(session: AsyncSession) -> DeliveryRepository:
    return DeliveryRepository(session, lambda _: None)


def new_deliveries(tag: str, request_id: str) -> list[Delivery]:
    event_id = f"{tag}-{uuid.uuid4()}"
    common: dict[str, Any] = {"event_id": event_id, "correlation_id": event_id, "request_id": request_id}
    common |= {"revision": 1, "vendor_id": "acme", "template": "purchase_order", "notifies_vendor": True}
    body = {"subject": "Bestellung PR-000123", "body_text": "Guten Tag,\n" * 40, "body_html": "<p>Guten Tag</p>" * 40}
    return [
        Delivery(id=str(uuid.uuid4()), channel="email", recipient="a@acme.test", language="de", **common, **body),
        Delivery(id=str(uuid.uuid4()), channel="email", recipient="b@acme.test", language="de", **common, **body),
        Delivery(
            id=str(uuid.uuid4()),
            channel="webhook",
            recipient="https://acme.test/hook",
            language="en",
            payload={"type": "purchase_order.approved", "order": {"lines": [{"no": 1, "amount": "10.00"}]}},
            **common,
        ),
    ]


async def record(session: AsyncSession, repo: Repo, tag: str) -> list[str]:
    deliveries = new_deliveries(tag, str(uuid.uuid4()))
    for d in deliveries:
        assert await repo(session).add(d)
    await session.commit()
    return [d.id for d in deliveries]


async def send(session: AsyncSession, repo: Repo) -> Delivery:
    now = datetime.now(UTC)
    due = await repo(session).claim_due(now=now, limit=1, channel="email")
    assert due, "nothing due: seed more"
    due[0].sent(now=now)
    await repo(session).save(due[0])
    await session.commit()
    await repo(session).claim_due(now=datetime(2000, 1, 1, tzinfo=UTC), limit=1, channel="email")
    await session.rollback()
    return due[0]


async def same_rows(factory: Any) -> None:
    """Both paths store the same columns (but the ids and keys), and claim and record a send alike."""
    async with factory() as session:
        core_ids = await record(session, CoreDeliveries, "core")
        raw_ids = await record(session, raw, "raw")
        query = text(
            "SELECT to_jsonb(d) - 'id' - 'dedup_key' - 'event_id' - 'correlation_id' - 'request_id'"
            " - 'created_at' - 'next_attempt_at' AS row FROM delivery d WHERE id = :id"
        )
        for a, b in zip(core_ids, raw_ids, strict=True):
            core_row = (await session.execute(query, {"id": a})).scalar_one()
            raw_row = (await session.execute(query, {"id": b})).scalar_one()
            assert core_row == raw_row, (core_row, raw_row)
        await session.rollback()
    for repo in (CoreDeliveries, raw):
        async with factory() as session:
            sent = await send(session, repo)
            stored = (await session.execute(select(delivery).where(delivery.c.id == sent.id))).mappings().one()
            assert _loaded(stored) == sent, (repo, _loaded(stored), sent)
            await session.rollback()


async def same_orders(factory: Any) -> None:
    """The order path reads and stores the same values either way."""
    async with factory() as session:
        core_id, raw_id = str(uuid.uuid4()), str(uuid.uuid4())
        core = await order_core(session, core_id, a_link(core_id))
        raw_ = await order_raw(session, raw_id, a_link(raw_id))
        order = raw_["order"]
        assert core["order"] | {"snapshot": None} == {
            "revision": order.revision,
            "vendor_id": order.vendor_id,
            "status": "awaiting_vendor",
            "snapshot": None,
        }
        assert core["order"]["snapshot"] | {"request_id": raw_id} == order.snapshot
        assert core["vendor"]["contact_emails"] == raw_["vendor"].contact_emails
        assert core["vendor"]["created_at"] == raw_["vendor"].created_at
        assert {k: v for k, v in core["link"].items() if k not in ("id", "request_id")} == {
            k: v for k, v in vars(raw_["link"]).items() if k not in ("id", "request_id")
        }
        query = text(
            "SELECT to_jsonb(o) - 'request_id' - 'updated_at' - 'snapshot' FROM order_view o WHERE request_id = :id"
        )
        assert (await session.execute(query, {"id": core_id})).scalar_one() == (
            await session.execute(query, {"id": raw_id})
        ).scalar_one()


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            await session.execute(
                insert(vendor).values(
                    id="acme",
                    legal_name="ACME GmbH",
                    address="Weg 1",
                    contact_emails=["a@acme.test"],
                    language="de",
                    status="active",
                )
            )
            await session.commit()
        await same_rows(factory)
        await same_orders(factory)

        def op(fn: Callable[[AsyncSession, int], Awaitable[Any]]) -> Callable[[int], Awaitable[None]]:
            async def one(i: int) -> None:
                async with factory() as session:
                    await fn(session, i)

            return one

        async def idle(session: AsyncSession, repo: Repo) -> None:
            await repo(session).next_due()
            await session.rollback()

        async def order(session: AsyncSession, how: Callable[..., Awaitable[Any]]) -> None:
            request_id = str(uuid.uuid4())
            await how(session, request_id, a_link(request_id))

        ops: dict[tuple[str, str], Callable[[int], Awaitable[None]]] = {}
        for name, repo, how in (("core", CoreDeliveries, order_core), ("raw", raw, order_raw)):
            ops[("order", name)] = op(lambda s, i, how=how: order(s, how))
            ops[("record", name)] = op(lambda s, i, repo=repo, name=name: record(s, repo, name))
            ops[("send", name)] = op(lambda s, i, repo=repo: send(s, repo))
            ops[("idle", name)] = op(lambda s, i, repo=repo: idle(s, repo))
        results: dict[tuple[str, str], tuple[list[float], list[float]]] = {k: ([], []) for k in ops}
        for k, one in ops.items():  # warm-up: statement caches, the pool's one connection
            if k[0] != "send":
                for i in range(30):
                    await one(i)
        for r in range(rounds):
            for k, one in ops.items():
                c0, s0 = time.process_time(), backend_cpu(pid)
                for i in range(n):
                    await one(r * n + i)
                client, server = results[k]
                client.append((time.process_time() - c0) / n * 1000)
                server.append((backend_cpu(pid) - s0) / n * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"notifications delivery paths, {rounds} x {n} per variant, alternated; load {load[0]:.2f}/{load[1]:.2f}")
    print(f"{'':18}{'client ms':>10}{'backend ms':>11}")
    for (what, how), (client, server) in results.items():
        print(f"  {what:7} {how:6}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")
    for what in ("order", "record", "send", "idle"):
        core, new = results[(what, "core")], results[(what, "raw")]
        ratio_c = statistics.median(new[0]) / statistics.median(core[0])
        core_s = statistics.median(core[1])
        ratio_s = statistics.median(new[1]) / core_s if core_s else float("nan")
        print(f"  {what}: raw/core client {ratio_c:.2f}, backend {ratio_s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
