"""The rate in force on a day (``RateRepository.rate``, both sides of a cross rate in one statement) on the real
database: for every pair of currencies, day and age limit, the rate a reading of the loaded table gives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from budgets_testkit import MIGRATIONS
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice_budgets.domain.fx import FxRate, RatesByDay
from backoffice_budgets.repository.rates import RateRepository
from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.testing import private_database

D = date(2027, 3, 1)
LOADED: RatesByDay = {
    D: {"USD": Decimal("1.0800000000"), "GBP": Decimal("0.8500000000")},
    D + timedelta(days=3): {"USD": Decimal("1.1000000000")},
    D + timedelta(days=5): {"GBP": Decimal("0.8600000000"), "CHF": Decimal("0.9500000000")},
}


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with private_database(MIGRATIONS) as url:
        engine = make_engine(url, pool_size=1)
        try:
            yield make_session_factory(engine)
        finally:
            await engine.dispose()


def expected(source: str, target: str, on: date, max_age_days: int) -> FxRate | None:
    if source == target:
        return FxRate.identity(source)

    def per_eur(currency: str) -> tuple[Decimal, date] | None:
        if currency == "EUR":
            return Decimal(1), on
        days = [d for d, rates in LOADED.items() if currency in rates and on - timedelta(days=max_age_days) <= d <= on]
        return (LOADED[max(days)][currency], max(days)) if days else None

    a, b = per_eur(source), per_eur(target)
    if a is None or b is None:
        return None
    day = min(a[1], b[1]) if "EUR" not in (source, target) else (a[1] if target == "EUR" else b[1])
    return FxRate.cross(source, target, from_per_eur=a[0], to_per_eur=b[0], on=day)


async def test_the_rate_in_force_is_the_latest_of_each_side_within_the_age_limit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s:
        assert await RateRepository(s).load(LOADED) == 5
        await s.commit()
    currencies = ("EUR", "USD", "GBP", "CHF", "JPY")
    found = 0
    async with sessions() as s:
        rates = RateRepository(s)
        for source in currencies:
            for target in currencies:
                for days in range(-1, 8):
                    for age in (0, 2, 10):
                        on = D + timedelta(days=days)
                        got = await rates.rate(source, target, on=on, max_age_days=age)
                        assert got == expected(source, target, on, age), (source, target, on, age)
                        found += got is not None and got.rate_date is not None
    assert found > 50  # cross rates found, not only the misses
