"""Replaying the request topics into an empty budgets database rebuilds the same ledger."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from budgets_testkit import MIGRATIONS, Service, settings_for, unique
from sqlalchemy import select

from backoffice_budgets.api.common import http_cause
from backoffice_budgets.main import create_app
from backoffice_budgets.models import budget, budget_check, ledger_movement, pending_event
from backoffice_budgets.repository.uow import BudgetsUnitOfWork
from backoffice_budgets.service import budgets as budget_cases
from backoffice_budgets.service import cost_centres as cost_centre_cases
from backoffice_common.auth import User
from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.testing import app_client, eventually, private_database

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Ledger:
    """Per request, its movements in the order they were posted (kind, amount, revision, the event that
    caused it, reason); per request and revision, what its check priced; the budget's final balances.

    Not a check's status: within or over depends on which other requests were priced before it, and
    requests on different partitions are read in no fixed order (docs/budgets.md, limits)."""

    movements: dict[str, list[Row]]
    checks: dict[tuple[str, int], Row]
    balances: Row


async def ledger_of(session_factory: Any, cost_centre: str) -> Ledger:
    async with session_factory() as session:
        bid = (await session.execute(select(budget.c.id).where(budget.c.cost_centre_id == cost_centre))).scalar_one()
        m = ledger_movement.c
        rows = (await session.execute(select(ledger_movement).where(m.budget_id == bid).order_by(m.seq))).all()
        requests = {r.request_id for r in rows if r.request_id is not None}
        found = await session.execute(select(budget_check).where(budget_check.c.request_id.in_(requests)))
        checks = {
            (c.request_id, c.revision): (c.data["amount"], c.data["request_total"], c.data["currency"]) for c in found
        }
    movements: dict[str, list[Row]] = {}
    for r in rows:
        if r.request_id is not None:
            row = (r.kind, r.amount, r.revision, r.cause_event_id, r.cause_event_type, r.reason)
            movements.setdefault(r.request_id, []).append(row)
    last = rows[-1]
    return Ledger(movements, checks, (last.budget_after, last.reserved_after, last.committed_after, last.spent_after))


async def held_back(session_factory: Any, request_id: str) -> list[str]:
    async with session_factory() as session:
        rows = await session.execute(
            select(pending_event.c.event_type)
            .where(pending_event.c.request_id == request_id)
            .order_by(pending_event.c.seq)
        )
        return list(rows.scalars())


async def test_replaying_the_topics_into_an_empty_database_rebuilds_the_same_ledger(service: Service) -> None:
    """The same movements per request in the same order, naming the same events, whatever order the
    replay reads the two topics in; here the live run itself read an approval before its submission and
    a cancellation of an approved order before the approval."""
    factory_live = service.app.state.session_factory
    cc, funded = await service.funded("1000.00")
    a, b, c, d, e = (unique("req") for _ in range(5))
    await service.submitted(a, 1, "400.00", cost_center=cc)
    await service.submitted(b, 1, "300.00", cost_center=cc)
    await service.submitted(c, 1, "500.00", cost_center=cc)
    await service.submitted(a, 2, "450.00", cost_center=cc)
    await service.approved(a, 2, "450.00", cost_center=cc)
    await service.emit("backoffice.requests", "purchase_request.receipt_confirmed", a, request_id=a,
                       lines=[{"line_no": 1, "quantity_received": "1"}], fully_received=False, note="")  # fmt: skip
    await service.emit("backoffice.requests", "purchase_request.closed", a, request_id=a, short_closed=True, reason="x")
    await service.emit("backoffice.requests", "purchase_request.cancelled", b, request_id=b, revision=1, reason="x",
                       previous_status="submitted", vendor_id="v")  # fmt: skip
    await service.budgets.wait_for("budget.released", subject=a, count=1)
    await service.budgets.wait_for("budget.released", subject=b, count=1)
    await service.check(c)

    # d: the approval is read before the submission it approves
    d_approved = await service.approved(d, 1, "100.00", cost_center=cc)
    await eventually(lambda: held_back(factory_live, d), message="the early approval was not held back")
    d_submitted = await service.submitted(d, 1, "100.00", cost_center=cc)
    await service.budgets.wait_for("budget.committed", subject=d)
    # e: the cancellation of the approved order is read before the approval
    e_submitted = await service.submitted(e, 1, "50.00", cost_center=cc)
    await service.check(e)
    e_cancelled = await service.emit("backoffice.requests", "purchase_request.cancelled", e, request_id=e, revision=1,
                                     reason="x", previous_status="approved", vendor_id="v")  # fmt: skip
    assert await eventually(lambda: held_back(factory_live, e)) == ["purchase_request.cancelled"]
    e_approved = await service.approved(e, 1, "50.00", cost_center=cc)
    await service.budgets.wait_for("budget.released", subject=e)

    original = await ledger_of(factory_live, cc)
    assert original.balances == (Decimal(1000), Decimal(500), Decimal(100), Decimal("225.00"))
    assert [(k, amount, cause) for k, amount, _, cause, _, _ in original.movements[d]] == [
        ("reserved", Decimal(100), d_submitted.id), ("committed", Decimal(100), d_approved.id)
    ]  # fmt: skip
    assert [(k, amount, cause) for k, amount, _, cause, _, _ in original.movements[e]] == [
        ("reserved", Decimal(50), e_submitted.id), ("committed", Decimal(50), e_approved.id),
        ("released", Decimal(50), e_cancelled.id),
    ]  # fmt: skip
    assert [k for k, *_ in original.movements[a]] == ["reserved", "reserved", "committed", "spent", "released"]
    assert (await held_back(factory_live, d), await held_back(factory_live, e)) == ([], [])

    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    async with private_database(MIGRATIONS) as url:
        engine = make_engine(url)
        factory = make_session_factory(engine)
        finance = User(sub="fiona", roles=frozenset({"finance"}))
        tables = service.app.state.uow_factory()._tables
        async with BudgetsUnitOfWork(factory, tables=tables, service="budgets", topic_prefix=service.prefix) as uow:
            await cost_centre_cases.create(uow=uow, cost_centre_id=cc, name="x", owner={"id": "olga", "email": "o@example.com"},
                                           department="ENG", cause=http_cause("cost_centre_created"))  # fmt: skip
        async with BudgetsUnitOfWork(factory, tables=tables, service="budgets", topic_prefix=service.prefix) as uow:
            await budget_cases.create(uow=uow, cost_centre_id=cc, period=funded["period"], currency="EUR", amount="1000.00",
                                      user=finance, cause=http_cause("budget_allocated"))  # fmt: skip
        settings = settings_for(url, bootstrap, service.prefix, kafka_consumer_group=unique("replay"))
        replay = create_app(settings)
        async with app_client(replay):

            async def rebuilt() -> Ledger | None:
                current = await ledger_of(factory, cc)
                done = sum(map(len, current.movements.values())) == sum(map(len, original.movements.values()))
                return current if done and current.balances == original.balances else None

            replayed = await eventually(rebuilt, timeout=60, message="the replay did not rebuild as many movements")
            assert replayed.movements == original.movements
            assert replayed.checks == original.checks
        await engine.dispose()
