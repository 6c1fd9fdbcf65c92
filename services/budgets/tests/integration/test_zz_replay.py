"""Replaying the request topics into an empty budgets database rebuilds the same ledger."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from budgets_testkit import MIGRATIONS, Service, settings_for, unique
from sqlalchemy import select

from backoffice_budgets.api.common import http_cause
from backoffice_budgets.main import create_app
from backoffice_budgets.models import budget, ledger_movement
from backoffice_budgets.repository.uow import BudgetsUnitOfWork
from backoffice_budgets.service import budgets as budget_cases
from backoffice_budgets.service import cost_centres as cost_centre_cases
from backoffice_common.auth import User
from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.testing import app_client, eventually, private_database

Row = tuple[Any, ...]


async def ledger_of(session_factory: Any, cost_centre: str) -> tuple[dict[str, Row], Row]:
    """Per request what it holds in the cost centre's budget (reserved, committed, spent: sums of its
    movements, each of which names one of the request's events), and the budget's final balances."""
    async with session_factory() as session:
        bid = (await session.execute(select(budget.c.id).where(budget.c.cost_centre_id == cost_centre))).scalar_one()
        m = ledger_movement.c
        rows = (await session.execute(select(ledger_movement).where(m.budget_id == bid).order_by(m.seq))).all()
    held: dict[str, Row] = {}
    for r in rows:
        if r.request_id is None:
            continue
        reserved, committed, spent = held.get(r.request_id, (0, 0, 0))
        held[r.request_id] = (reserved + r.delta_reserved, committed + r.delta_committed, spent + r.delta_spent)
    last = rows[-1]
    return held, (last.budget_after, last.reserved_after, last.committed_after, last.spent_after)


async def test_replaying_the_topics_into_an_empty_database_rebuilds_the_same_ledger(service: Service) -> None:
    cc, funded = await service.funded("1000.00")
    a, b, c = unique("req"), unique("req"), unique("req")
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
    original = await ledger_of(service.app.state.session_factory, cc)
    assert original[1] == (Decimal(1000), Decimal(500), Decimal(0), Decimal("225.00"))

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

            async def rebuilt() -> tuple[list[Row], Row] | None:
                current = await ledger_of(factory, cc)
                return current if current == original else None

            await eventually(rebuilt, timeout=60, message="the replayed ledger differs from the original")
        await engine.dispose()
