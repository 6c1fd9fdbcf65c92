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
from backoffice_common.db import driver_connection

# The latest rate of each currency in ``$1`` on a day in [``$3``, ``$2``]: both sides of a cross rate in one round trip.
_PER_EUR_SQL = (
    "SELECT DISTINCT ON (currency) currency, per_eur, rate_date FROM fx_rate"
    " WHERE currency = ANY($1::text[]) AND rate_date <= $2 AND rate_date >= $3 ORDER BY currency, rate_date DESC"
)


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

    async def _per_eur(self, currencies: set[str], day: date, oldest: date) -> dict[str, tuple[Decimal, date]]:
        """Each currency's units per euro in force on ``day`` (at most as old as ``oldest``), those that have one;
        the euro itself at 1 on ``day``. One raw statement for all the other currencies (a priced event asks it)."""
        found: dict[str, tuple[Decimal, date]] = {"EUR": (Decimal(1), day)} if "EUR" in currencies else {}
        others = sorted(currencies - {"EUR"})
        if others:
            conn = await driver_connection(self.session)
            for r in await conn.fetch(_PER_EUR_SQL, others, day, oldest):
                found[r["currency"]] = (r["per_eur"], r["rate_date"])
        return found

    async def rate(self, source: str, target: str, *, on: date, max_age_days: int) -> FxRate | None:
        """The rate from ``source`` into ``target`` in force on ``on`` (the latest ECB day at most
        ``max_age_days`` before it), or None when there is none."""
        if source == target:
            return FxRate.identity(source)
        oldest = on - timedelta(days=max_age_days)
        per_eur = await self._per_eur({source, target}, on, oldest)
        a, b = per_eur.get(source), per_eur.get(target)
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
