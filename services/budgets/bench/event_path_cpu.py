"""CPU of budgets' event path, SQLAlchemy Core against raw asyncpg (not a test).

One operation: a request's four money events (``submitted``, ``approved``, ``receipt_confirmed``,
``closed``), each handled as the consumer does (``service.requests.handle`` in a unit of work of its own:
the hold locked and read, the held-back events read, the cost centre, the budget found and locked, the
movements appended, the hold saved, the ``budget.checked`` row, the outbox and audit rows, the commit).

Run with this checkout's repositories (raw asyncpg through ``driver_connection``) and with the Core
statements they replaced (``CoreHolds`` and friends below, copied from the previous version), alternated
round by round in the same run. Before timing, one request through each path: the holds, the ledger
movements, the checks and the published events must be equal but for ids and times. Reported: client CPU
(this process) and backend CPU (``/proc`` of the connection's PostgreSQL process) per event, medians.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/budgets/bench/event_path_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

import backoffice_budgets
from backoffice_budgets.consumers import decode
from backoffice_budgets.domain.fx import FxRate
from backoffice_budgets.domain.holds import HoldState, RequestHold
from backoffice_budgets.domain.ledger import BudgetAccount, Cause, Deltas, DomainEvent, Kind
from backoffice_budgets.domain.money import quantize
from backoffice_budgets.models import (
    budget,
    budget_check,
    cost_centre,
    ledger_movement,
    messaging,
    pending_event,
    request_hold,
)
from backoffice_budgets.repository import budgets as budgets_module
from backoffice_budgets.repository.budgets import BudgetRepository
from backoffice_budgets.repository.cost_centres import CostCentreRepository
from backoffice_budgets.repository.cost_centres import _load as load_cost_centre
from backoffice_budgets.repository.holds import HoldRepository
from backoffice_budgets.repository.pending import Held, PendingRepository
from backoffice_budgets.repository.uow import BudgetsUnitOfWork
from backoffice_budgets.service import requests as service
from backoffice_common.db import make_session_factory
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.testing import private_database

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_budgets.__file__).parent / "migrations"
EVENTS_PER_OP = 4


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# --- the Core statements of the previous version (services/budgets/src/.../repository at 8b3c47d) ---


class CoreHolds(HoldRepository):
    async def lock(self, request_id: str, *, period_date: date) -> RequestHold:
        await self.session.execute(
            pg_insert(request_hold)
            .values(
                request_id=request_id,
                period_date=period_date,
                revision=0,
                state=HoldState.RESERVED.value,
                cost_centre="",
                request_currency="",
                unit_prices={},
                handled_events=[],
            )
            .on_conflict_do_nothing(index_elements=["request_id"])
        )
        row = (
            await self.session.execute(
                select(request_hold).where(request_hold.c.request_id == request_id).with_for_update()
            )
        ).one()
        hold = RequestHold(
            request_id=request_id,
            period_date=row.period_date,
            revision=row.revision,
            state=HoldState(row.state),
            budget_id=row.budget_id,
            cost_centre=row.cost_centre,
            request_currency=row.request_currency,
            fx=FxRate(row.fx_from, row.fx_to, row.fx_rate, row.fx_rate_date) if row.fx_rate is not None else None,
            unit_prices={int(k): Decimal(v) for k, v in row.unit_prices.items()},
        )
        m = ledger_movement.c
        sums = (
            await self.session.execute(
                select(
                    func.coalesce(func.sum(m.delta_reserved), 0),
                    func.coalesce(func.sum(m.delta_committed), 0),
                    func.coalesce(func.sum(m.delta_spent), 0),
                ).where(m.request_id == request_id, m.budget_id == row.budget_id)
            )
        ).one()
        currency = row.fx_to or "EUR"
        hold.reserved, hold.committed, hold.spent = (quantize(Decimal(v), currency) for v in sums)
        hold.applied = set(row.handled_events)
        return hold

    async def save(self, hold: RequestHold) -> None:
        fx = hold.fx
        await self.session.execute(
            update(request_hold)
            .where(request_hold.c.request_id == hold.request_id)
            .values(
                period_date=hold.period_date,
                revision=hold.revision,
                state=hold.state.value,
                budget_id=hold.budget_id,
                cost_centre=hold.cost_centre,
                request_currency=hold.request_currency,
                fx_from=fx.from_currency if fx else None,
                fx_to=fx.to_currency if fx else None,
                fx_rate=fx.rate if fx else None,
                fx_rate_date=fx.rate_date if fx else None,
                unit_prices={str(k): format(v, "f") for k, v in hold.unit_prices.items()},
                handled_events=sorted(hold.applied),
                updated_at=func.now(),
            )
        )

    async def record_check(self, event: DomainEvent, event_id: str) -> None:
        await self.session.execute(
            pg_insert(budget_check)
            .values(
                request_id=event.subject,
                revision=event.data["revision"],
                status=event.data["status"],
                event_id=event_id,
                data=event.data,
            )
            .on_conflict_do_nothing(index_elements=["request_id", "revision"])
        )


class CorePending(PendingRepository):
    async def of(self, request_id: str) -> list[Held]:
        rows = await self.session.execute(
            select(pending_event).where(pending_event.c.request_id == request_id).order_by(pending_event.c.seq)
        )
        return [Held(r.seq, CloudEvent.model_validate(r.event), r.waiting_for) for r in rows]


class CoreCostCentres(CostCentreRepository):
    async def get(self, cost_centre_id: str, *, lock: bool = False) -> Any:
        row = (await self.session.execute(select(cost_centre).where(cost_centre.c.id == cost_centre_id))).first()
        return load_cost_centre(row._mapping) if row else None


class CoreBudgets(BudgetRepository):
    async def lock(self, ids: Iterable[str]) -> dict[str, BudgetAccount]:
        ordered = sorted(set(ids))
        if not ordered:
            return {}
        await self.session.execute(
            select(budget.c.id).where(budget.c.id.in_(ordered)).order_by(budget.c.id).with_for_update()
        )
        rows = (await self.session.execute(budgets_module._with_balances().where(budget.c.id.in_(ordered)))).all()
        return {row.id: budgets_module._account(row._mapping) for row in rows}

    async def find_for(self, cost_centre_id: str, day: date) -> str | None:
        stmt = select(budget.c.id).where(
            budget.c.cost_centre_id == cost_centre_id, budget.c.period_start <= day, budget.c.period_end > day
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def save(self, account: BudgetAccount) -> None:
        if not account.movements:
            return
        rows = [
            {
                "id": m.id,
                "budget_id": m.budget_id,
                "kind": m.kind.value,
                "amount": m.amount,
                "delta_budget": m.deltas.budget,
                "delta_reserved": m.deltas.reserved,
                "delta_committed": m.deltas.committed,
                "delta_spent": m.deltas.spent,
                "budget_after": m.after.budget,
                "reserved_after": m.after.reserved,
                "committed_after": m.after.committed,
                "spent_after": m.after.spent,
                "request_id": m.request_id,
                "revision": m.revision,
                "cause_event_id": m.cause.event_id,
                "cause_event_type": m.cause.event_type,
                "occurred_at": m.cause.occurred_at,
                "source_currency": m.fx.from_currency if m.fx else None,
                "source_amount": m.source_amount,
                "fx_rate": m.fx.rate if m.fx else None,
                "fx_rate_date": m.fx.rate_date if m.fx else None,
                "reason": m.reason,
            }
            for m in account.movements
        ]
        await self.session.execute(insert(ledger_movement), rows)
        account.movements = []


class CoreUow(BudgetsUnitOfWork):
    @property
    def holds(self) -> HoldRepository:
        return CoreHolds(self.session)

    @property
    def pending(self) -> PendingRepository:
        return CorePending(self.session)

    @property
    def cost_centres(self) -> CostCentreRepository:
        return CoreCostCentres(self.session)

    @property
    def budgets(self) -> BudgetRepository:
        return CoreBudgets(self.session)


# --- the run ---


def events(request_id: str, cc: str) -> list[CloudEvent]:
    snap = {
        "request_id": request_id, "revision": 1, "cost_center": cc, "currency": "EUR", "total": "120.00",
        "lines": [{"line_no": 1, "quantity": "2", "unit_price": "60.00", "amount": "120.00"}],
    }  # fmt: skip
    submitted = {"schema_version": 1, "request": snap, "submitted_at": datetime.now(UTC).isoformat()}
    approved = {"schema_version": 1, "request": snap, "chain_id": "c", "approvers": []}
    receipt = {"schema_version": 1, "request_id": request_id, "lines": [{"line_no": 1, "quantity_received": "2"}]}
    closed = {"schema_version": 1, "request_id": request_id}
    return [
        new_event(type="purchase_request.submitted", service="requests", subject=request_id, data=submitted),
        new_event(type="purchase_request.approved", service="approvals", subject=request_id, data=approved),
        new_event(type="purchase_request.receipt_confirmed", service="requests", subject=request_id, data=receipt),
        new_event(type="purchase_request.closed", service="requests", subject=request_id, data=closed),
    ]


async def seed(factory: async_sessionmaker[AsyncSession], cc: str) -> str:
    now = datetime.now(UTC)
    async with factory() as session, session.begin():
        await session.execute(
            insert(cost_centre).values(
                id=cc,
                name="IT",
                owner_id="olga",
                owner_name="Olga",
                owner_email="o@x.test",
                department="it",
                active=True,
                updated_at=now,
            )
        )
        budget_id = str(uuid.uuid4())
        year = now.year
        await session.execute(
            insert(budget).values(
                id=budget_id,
                cost_centre_id=cc,
                period=str(year),
                period_kind="year",
                period_start=date(year, 1, 1),
                period_end=date(year + 1, 1, 1),
                currency="EUR",
                status="open",
                created_by="bench",
            )
        )
        account = (await BudgetRepository(session).lock([budget_id]))[budget_id]
        cause = Cause(str(uuid.uuid4()), "budgets.allocated", now)
        account.post(Kind.ALLOCATED, Deltas(budget=Decimal("1e9")), cause, amount=Decimal("1e9"), reason="allocated")
        await BudgetRepository(session).save(account)
    return budget_id


async def one_request(uow_of: Any, request_id: str, cc: str) -> list[str]:
    handled = events(request_id, cc)
    for event in handled:
        async with uow_of() as uow:
            await service.handle(uow=uow, event=event, decode=partial(decode, fx_max_age_days=7))
    return [request_id, *(e.id for e in handled), *(e.time.isoformat() for e in handled)]


def _same_names(text: str, names: list[str]) -> str:
    for i, name in enumerate(names):
        text = text.replace(name, f"<{i}>")
    return text


async def observed(factory: async_sessionmaker[AsyncSession], names: list[str]) -> dict[str, Any]:
    """What a request left behind, its id and its events' ids replaced by placeholders, times left out."""
    request_id = names[0]
    async with factory() as session:
        hold = (await session.execute(select(request_hold).where(request_hold.c.request_id == request_id))).one()
        m = ledger_movement.c
        moves = await session.execute(select(ledger_movement).where(m.request_id == request_id).order_by(m.seq))
        checks = await session.execute(select(budget_check).where(budget_check.c.request_id == request_id))
        o = messaging.outbox.c
        out = await session.execute(select(o.event_type, o.value, o.key, o.topic).where(o.key == request_id))
        skip = {"id", "seq", "recorded_at", "request_id", "cause_event_id", "updated_at", "event_id", "checked_at"}
        skip |= {"occurred_at", "budget_id", "cost_centre", "period_date"}
        published = []
        for row in out:
            value = json.loads(_same_names(row.value.decode(), names))
            value["data"].pop("movement_id", None)  # a new uuid per movement
            published.append((row.event_type, row.topic, value["data"]))
        return {
            "hold": {k: v for k, v in hold._mapping.items() if k not in skip | {"handled_events"}},
            "handled": len(hold.handled_events),
            "moves": [{k: v for k, v in r._mapping.items() if k not in skip} for r in moves],
            "checks": [
                json.loads(_same_names(json.dumps({k: v for k, v in r._mapping.items() if k not in skip}), names))
                for r in checks
            ],
            "published": sorted(published, key=json.dumps),
        }


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        ccs = {"core": "CC-CORE", "raw": "CC-RAW"}
        budgets = {how: await seed(factory, cc) for how, cc in ccs.items()}
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        kw: dict[str, Any] = {"tables": messaging, "service": "budgets"}
        variants = {"core": partial(CoreUow, factory, **kw), "raw": partial(BudgetsUnitOfWork, factory, **kw)}
        seen = {}
        for how, uow_of in variants.items():
            names = [*await one_request(uow_of, f"same-{how}", ccs[how]), budgets[how], ccs[how]]
            seen[how] = await observed(factory, names)
        for key in seen["core"]:
            assert seen["core"][key] == seen["raw"][key], (key, seen["core"][key], seen["raw"][key])
        assert seen["raw"]["moves"], "no movement"
        assert seen["raw"]["published"], "no event"
        results: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in variants}
        for how, uow_of in variants.items():  # warm-up
            for i in range(20):
                await one_request(uow_of, f"warm-{how}-{i}", ccs[how])
        for r in range(rounds):
            for how, uow_of in variants.items():
                c0, s0 = time.process_time(), backend_cpu(pid)
                for i in range(n):
                    await one_request(uow_of, f"{how}-{r}-{i}", ccs[how])
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
    core, raw = results["core"], results["raw"]
    ratio_c = statistics.median(raw[0]) / statistics.median(core[0])
    ratio_s = statistics.median(raw[1]) / statistics.median(core[1]) if statistics.median(core[1]) else float("nan")
    print(f"  raw/core client {ratio_c:.2f}, backend {ratio_s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
