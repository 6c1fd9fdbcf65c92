"""Request holds: one row per request, locked while one of its events is handled; amounts from the ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_budgets.domain.fx import FxRate
from backoffice_budgets.domain.holds import HoldState, RequestHold
from backoffice_budgets.domain.ledger import DomainEvent
from backoffice_budgets.domain.money import ZERO, quantize
from backoffice_budgets.models import budget_check, ledger_movement, request_hold


class HoldRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, request_id: str, *, period_date: date) -> RequestHold:
        """The request's hold under a row lock, created first when the request is new.

        The lock serialises a request's events from the two topics they arrive on (requests and
        approvals). Amounts are summed from the request's own movements, in the budget it sits in.
        """
        await self.session.execute(
            insert(request_hold)
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
            insert(budget_check)
            .values(
                request_id=event.subject,
                revision=event.data["revision"],
                status=event.data["status"],
                event_id=event_id,
                data=event.data,
            )
            .on_conflict_do_nothing(index_elements=["request_id", "revision"])
        )

    async def checks(self, request_id: str) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(budget_check).where(budget_check.c.request_id == request_id).order_by(budget_check.c.revision)
        )
        return [{**r.data, "event_id": r.event_id, "checked_at": r.checked_at.isoformat()} for r in rows]


__all__ = ["ZERO", "HoldRepository"]
