"""Request holds: one row per request, locked while one of its events is handled; amounts from the ledger.

Every request event locks its hold (once: the hold read to order the event is the one its rule applies to),
so the lock, the save and the check's row are raw asyncpg on the session's connection and transaction
(``driver_connection``): asyncpg's prepared statements, no SQLAlchemy compile or result layers.
JSON travels as text cast to ``jsonb``."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_budgets.domain.fx import FxRate
from backoffice_budgets.domain.holds import HoldState, RequestHold
from backoffice_budgets.domain.ledger import DomainEvent
from backoffice_budgets.domain.money import ZERO, quantize
from backoffice_budgets.models import budget_check
from backoffice_common.db import driver_connection

_LOCK_SQL = (
    "SELECT period_date, revision, state, budget_id::text AS budget_id, cost_centre, request_currency,"
    " fx_from, fx_to, fx_rate, fx_rate_date, unit_prices, handled_events"
    " FROM request_hold WHERE request_id = $1 FOR UPDATE"
)
_CREATE_SQL = (
    "INSERT INTO request_hold (request_id, period_date, revision, state, cost_centre, request_currency,"
    " unit_prices, handled_events) VALUES ($1, $2, 0, 'reserved', '', '', '{}', '[]')"
    " ON CONFLICT (request_id) DO NOTHING"
)
_SUMS_SQL = (
    "SELECT coalesce(sum(delta_reserved), 0), coalesce(sum(delta_committed), 0), coalesce(sum(delta_spent), 0)"
    " FROM ledger_movement WHERE request_id = $1 AND budget_id = $2"
)
_SAVE_SQL = (
    "UPDATE request_hold SET period_date = $2, revision = $3, state = $4, budget_id = $5, cost_centre = $6,"
    " request_currency = $7, fx_from = $8, fx_to = $9, fx_rate = $10, fx_rate_date = $11,"
    " unit_prices = $12::text::jsonb, handled_events = $13::text::jsonb, updated_at = now() WHERE request_id = $1"
)
_RECORD_CHECK_SQL = (
    "INSERT INTO budget_check (request_id, revision, status, event_id, data) VALUES ($1, $2, $3, $4, $5::text::jsonb)"
    " ON CONFLICT (request_id, revision) DO NOTHING"
)


class HoldRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, request_id: str, *, period_date: date) -> RequestHold:
        """The request's hold under a row lock, created first when the request is new.

        The lock serialises a request's events from the two topics they arrive on (requests and
        approvals). Amounts are summed from the request's own movements, in the budget it sits in, by a
        statement of its own after the lock (so a writer that committed meanwhile is seen). A known hold
        (every event but a request's first) is one locking read, not an insert attempt and a read.
        """
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(_LOCK_SQL, request_id)
        if row is None:
            await conn.execute(_CREATE_SQL, request_id, period_date)
            row = await conn.fetchrow(_LOCK_SQL, request_id)
            assert row is not None
        fx = None
        if row["fx_rate"] is not None:
            fx = FxRate(row["fx_from"], row["fx_to"], row["fx_rate"], row["fx_rate_date"])
        hold = RequestHold(
            request_id=request_id,
            period_date=row["period_date"],
            revision=row["revision"],
            state=HoldState(row["state"]),
            budget_id=row["budget_id"],
            cost_centre=row["cost_centre"],
            request_currency=row["request_currency"],
            fx=fx,
            unit_prices={int(k): Decimal(v) for k, v in row["unit_prices"].items()},
        )
        currency = row["fx_to"] or "EUR"
        if row["budget_id"] is None:  # no movement has a null budget: the sums are zero
            sums: Any = (ZERO, ZERO, ZERO)
        else:
            sums = await conn.fetchrow(_SUMS_SQL, request_id, row["budget_id"])
        hold.reserved, hold.committed, hold.spent = (quantize(Decimal(v), currency) for v in sums)
        hold.applied = set(row["handled_events"])
        return hold

    async def save(self, hold: RequestHold) -> None:
        fx = hold.fx
        conn = await driver_connection(self.session)
        await conn.execute(
            _SAVE_SQL,
            hold.request_id,
            hold.period_date,
            hold.revision,
            hold.state.value,
            hold.budget_id,
            hold.cost_centre,
            hold.request_currency,
            fx.from_currency if fx else None,
            fx.to_currency if fx else None,
            fx.rate if fx else None,
            fx.rate_date if fx else None,
            json.dumps({str(k): format(v, "f") for k, v in hold.unit_prices.items()}),
            json.dumps(sorted(hold.applied)),
        )

    async def record_check(self, event: DomainEvent, event_id: str) -> None:
        conn = await driver_connection(self.session)
        data = event.data
        await conn.execute(
            _RECORD_CHECK_SQL, event.subject, data["revision"], data["status"], event_id, json.dumps(data)
        )

    async def checks(self, request_id: str) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(budget_check).where(budget_check.c.request_id == request_id).order_by(budget_check.c.revision)
        )
        return [{**r.data, "event_id": r.event_id, "checked_at": r.checked_at.isoformat()} for r in rows]


__all__ = ["ZERO", "HoldRepository"]
