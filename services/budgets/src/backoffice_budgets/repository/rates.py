"""Exchange rates (units per euro by ECB working day) and the rate in force on a day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_budgets.domain.fx import FxRate, RatesByDay
from backoffice_budgets.models import fx_rate


class RateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def load(self, rates: RatesByDay) -> int:
        rows = [
            {"currency": code, "rate_date": day, "per_eur": value}
            for day, by_code in rates.items()
            for code, value in by_code.items()
        ]
        for start in range(0, len(rows), 5000):
            stmt = insert(fx_rate).values(rows[start : start + 5000])
            stmt = stmt.on_conflict_do_update(
                index_elements=["currency", "rate_date"],
                set_={"per_eur": stmt.excluded.per_eur, "loaded_at": func.now()},
            )
            await self.session.execute(stmt)
        return len(rows)

    async def _per_eur(self, currency: str, day: date, oldest: date) -> tuple[Decimal, date] | None:
        if currency == "EUR":
            return Decimal(1), day
        row = (
            await self.session.execute(
                select(fx_rate.c.per_eur, fx_rate.c.rate_date)
                .where(fx_rate.c.currency == currency, fx_rate.c.rate_date <= day, fx_rate.c.rate_date >= oldest)
                .order_by(fx_rate.c.rate_date.desc())
                .limit(1)
            )
        ).first()
        return (row.per_eur, row.rate_date) if row else None

    async def rate(self, source: str, target: str, *, on: date, max_age_days: int) -> FxRate | None:
        """The rate from ``source`` into ``target`` in force on ``on`` (the latest ECB day at most
        ``max_age_days`` before it), or None when there is none."""
        if source == target:
            return FxRate.identity(source)
        oldest = on - timedelta(days=max_age_days)
        a = await self._per_eur(source, on, oldest)
        b = await self._per_eur(target, on, oldest)
        if a is None or b is None:
            return None
        rate_date = min(a[1], b[1]) if source != "EUR" and target != "EUR" else (a[1] if target == "EUR" else b[1])
        return FxRate.cross(source, target, from_per_eur=a[0], to_per_eur=b[0], on=rate_date)

    async def list(
        self, *, currency: str | None, on_from: date | None, on_to: date | None, limit: int
    ) -> Sequence[Any]:
        stmt = select(fx_rate)
        if currency is not None:
            stmt = stmt.where(fx_rate.c.currency == currency)
        if on_from is not None:
            stmt = stmt.where(fx_rate.c.rate_date >= on_from)
        if on_to is not None:
            stmt = stmt.where(fx_rate.c.rate_date <= on_to)
        stmt = stmt.order_by(fx_rate.c.rate_date.desc(), fx_rate.c.currency).limit(limit)
        return (await self.session.execute(stmt)).all()
