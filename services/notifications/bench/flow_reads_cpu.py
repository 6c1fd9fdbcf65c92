"""The tenth round's reads a flow no longer sends, old against new in one run (not a test).

- ``order``: ``approved``'s order as the handler gets it: old = the upsert (``save_snapshot``) then the read
  (``orders.get``), new = the upsert returning the stored row (``orders.upsert``). Each iteration on an order
  ``submitted`` stored first (untimed), as in a flow: the upsert updates that row.
  The new statement also returns the order's vendor (``send_order`` read it next): old = the upsert, the read
  and ``vendors.get``.
- ``contract``: a generated or executed contract's order and vendor: old = ``orders.get`` then ``vendors.get``,
  new = ``orders.get_with_vendor``.
- ``webhook``: the vendor webhook's vendor and its secrets: old = ``vendors.get`` then
  ``active_secret_ciphertexts``, new = ``get_with_secrets`` (one statement); a vendor with two unexpired secrets
  and one expired.

Each operation in a unit of work of its own (BEGIN, the statements, COMMIT: the same in both), on one pooled
connection (pool of 1) of a private, migrated database; old and new alternated round by round (A B B A ...).
Checked first and in every round: old and new give the same order (every field, the snapshot's key order too)
and vendor, the same vendor and ciphertexts. Reported: client CPU (this process) and the backend's (``/proc``) per
operation, medians of the rounds.

    export BACKOFFICE_PROFILE=test; source deploy/env.sh
    .venv/bin/python services/notifications/bench/flow_reads_cpu.py --n 300 --rounds 6
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
from typing import Any

from sqlalchemy import text

import backoffice_notifications
from backoffice_common.db import driver_connection, make_engine, make_session_factory
from backoffice_common.testing import private_database
from backoffice_notifications.domain.orders import AWAITING_VENDOR, IN_APPROVAL
from backoffice_notifications.domain.vendors import Vendor
from backoffice_notifications.models import messaging
from backoffice_notifications.service.uow import NotificationsUnitOfWork

MIGRATIONS = Path(backoffice_notifications.__file__).parent / "migrations"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def snapshot(vendor_id: str) -> dict[str, Any]:
    rid = str(uuid.uuid4())
    return {
        "request_id": rid,
        "number": f"PR-{rid[:6]}",
        "revision": 1,
        "title": "Laptops for the team",
        "description": "Two laptops",
        "requester": {"id": "alice", "name": "Alice", "email": "alice@corp.example", "department": "ENG"},
        "department": "ENG",
        "cost_center": "CC-100",
        "category": "hardware",
        "vendor_id": vendor_id,
        "currency": "EUR",
        "lines": [
            {"line_no": n, "description": "Laptop", "quantity": "2", "unit": "pcs", "unit_price": "1200.00",
             "amount": "2400.00", "sku": f"LT-{n}"}
            for n in range(1, 4)
        ],
        "total": "7200.00",
        "needed_by": "2027-01-15",
    }  # fmt: skip


async def order_old(uow: NotificationsUnitOfWork, snap: dict[str, Any]) -> Any:
    assert await uow.orders.save_snapshot(snap, status=AWAITING_VENDOR)
    order = await uow.orders.get(snap["request_id"])
    assert order is not None
    return order, await uow.vendors.get(order.vendor_id)


async def order_new(uow: NotificationsUnitOfWork, snap: dict[str, Any]) -> Any:
    return await uow.orders.upsert(snap, status=AWAITING_VENDOR)


async def contract_old(uow: NotificationsUnitOfWork, ids: tuple[str, str]) -> Any:
    return await uow.orders.get(ids[0]), await uow.vendors.get(ids[1])


async def contract_new(uow: NotificationsUnitOfWork, ids: tuple[str, str]) -> Any:
    return await uow.orders.get_with_vendor(*ids)


async def vendor_old(uow: NotificationsUnitOfWork, vendor_id: str) -> Any:
    found = await uow.vendors.get(vendor_id)
    return found, await uow.vendors.active_secret_ciphertexts(vendor_id, now=datetime.now(UTC))


async def vendor_new(uow: NotificationsUnitOfWork, vendor_id: str) -> Any:
    return await uow.vendors.get_with_secrets(vendor_id, now=datetime.now(UTC))


Op = Callable[[NotificationsUnitOfWork, Any], Awaitable[Any]]
OPS: dict[str, dict[str, Op]] = {
    "order": {"old": order_old, "new": order_new},
    "webhook": {"old": vendor_old, "new": vendor_new},
    "contract": {"old": contract_old, "new": contract_new},
}


def same(value: Any) -> Any:
    """What must be equal between old and new: every field (the snapshot's key order too)."""
    if isinstance(value, tuple):
        return tuple(same(v) for v in value)
    if hasattr(value, "snapshot"):
        return {**vars(value), "keys": list(value.snapshot)}
    return value


async def run(n: int, rounds: int) -> None:
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(private_database(MIGRATIONS))
        engine = make_engine(url, pool_size=1)  # used one at a time: one connection
        stack.push_async_callback(engine.dispose)
        sessions = make_session_factory(engine)

        def uow() -> NotificationsUnitOfWork:
            return NotificationsUnitOfWork(sessions, tables=messaging, service="notifications")

        now = datetime.now(UTC)
        vendor = Vendor(
            id=str(uuid.uuid4()), legal_name="Acme GmbH", address="Hauptstraße 1",
            contact_emails=["sales@acme.example", "ops@acme.example"], language="de", webhook_url=None,
            status="active", created_at=now, updated_at=now,
        )  # fmt: skip
        async with uow() as u:
            await u.vendors.add(vendor)
            for n_, expires in enumerate((now - timedelta(minutes=1), now + timedelta(hours=1), None)):
                await u.vendors.add_secret(
                    secret_id=str(uuid.uuid4()), vendor_id=vendor.id, ciphertext=f"gAAAA{n_}" * 20,
                    created_at=now - timedelta(hours=3 - n_),
                )  # fmt: skip
                if expires is not None:
                    await u.session.execute(
                        text("UPDATE vendor_secret SET expires_at = :e WHERE ciphertext = :c"),
                        {"e": expires, "c": f"gAAAA{n_}" * 20},
                    )
            await u.commit()
        async with uow() as u:
            pid = int(await (await driver_connection(u.session)).fetchval("SELECT pg_backend_pid()"))

        async def submitted(count: int) -> list[dict[str, Any]]:
            snaps = [snapshot(vendor.id) for _ in range(count)]
            async with uow() as u:
                for s in snaps:
                    await u.orders.save_snapshot(s, status=IN_APPROVAL, strictly_newer=True)
                await u.commit()
            return snaps

        async def check() -> None:
            # The same snapshot through both: the same order; the same vendor and ciphertexts.
            for s in await submitted(3):
                got = []
                for side in ("old", "new"):
                    async with uow() as u:
                        got.append(same(await OPS["order"][side](u, s)))
                        await u.rollback()
                assert got[0] == got[1], got
                assert got[0][0]["keys"] != list(s)  # the stored jsonb's key order, not the event's
                assert got[0][1] is not None
                for side in ("old", "new"):
                    async with uow() as u:
                        got.append(same(await OPS["contract"][side](u, (s["request_id"], vendor.id))))
                assert got[2] == got[3], got[2:]
            vendors = []
            for side in ("old", "new"):
                async with uow() as u:
                    vendors.append(same(await OPS["webhook"][side](u, vendor.id)))
            assert vendors[0] == vendors[1], vendors
            assert len(vendors[0][1]) == 2

        await check()
        orders_read = await submitted(n)
        client: dict[tuple[str, str], list[float]] = {}
        backend: dict[tuple[str, str], list[float]] = {}
        for r in range(rounds):
            for op in OPS:
                for side in ("old", "new") if r % 2 == 0 else ("new", "old"):
                    args: list[Any] = (
                        await submitted(n)
                        if op == "order"
                        else [vendor.id] * n
                        if op == "webhook"
                        else [(s["request_id"], vendor.id) for s in orders_read[:n]]
                    )
                    fn = OPS[op][side]
                    c0, b0 = time.process_time(), cpu_of(pid)
                    for a in args:
                        async with uow() as u:
                            await fn(u, a)
                            await u.commit()
                    client.setdefault((op, side), []).append((time.process_time() - c0) / n * 1000)
                    backend.setdefault((op, side), []).append((cpu_of(pid) - b0) / n * 1000)
            await check()
        async with uow() as u:
            assert int(await (await driver_connection(u.session)).fetchval("SELECT pg_backend_pid()")) == pid
    load = os.getloadavg()
    print(f"per operation (a unit of work each), {rounds} rounds x {n}, alternated; load {load[0]:.2f}/{load[1]:.2f}")
    for op in OPS:
        for side in ("old", "new"):
            c, b = client[(op, side)], backend[(op, side)]
            print(
                f"  {op:8} {side}: client {statistics.median(c):.3f} ms, backend {statistics.median(b):.3f} ms"
                f"   (client rounds {', '.join(f'{x:.3f}' for x in c)})"
            )
        ratio = statistics.median(client[(op, "new")]) / statistics.median(client[(op, "old")])
        ratio_b = statistics.median(backend[(op, "new")]) / statistics.median(backend[(op, "old")])
        print(f"  {op:8} new/old: client {ratio:.2f}, backend {ratio_b:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
