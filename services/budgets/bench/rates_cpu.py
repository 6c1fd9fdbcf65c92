"""CPU of the rate in force for a priced request event in a foreign currency: the previous version (one SQLAlchemy
Core statement per non-euro side: two for a cross rate, one for a rate to or from the euro) against one raw asyncpg
statement for both sides (``RateRepository.rate``). Not a test.

One operation: ``rate(source, target, on, max_age_days)`` in a transaction of its own, for the pairs USD->EUR,
EUR->GBP, USD->GBP and GBP->CHF in turn (CHF missing on the day: no rate). Client CPU (this process) and backend
CPU (``/proc`` of the connection's PostgreSQL process) per call, medians of ``--rounds`` rounds, the variants
alternated round by round. First every pair, day and age limit through both: the same answers.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/budgets/bench/rates_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

import backoffice_budgets
from backoffice_budgets.domain.fx import FxRate, RatesByDay
from backoffice_budgets.models import fx_rate
from backoffice_budgets.repository.rates import RateRepository
from backoffice_common.db import make_session_factory
from backoffice_common.testing import private_database

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_budgets.__file__).parent / "migrations"
D = date(2027, 3, 1)
PAIRS = (("USD", "EUR"), ("EUR", "GBP"), ("USD", "GBP"), ("GBP", "CHF"))


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class OldRates(RateRepository):
    """The previous ``rate``: one Core statement per side that is not the euro."""

    async def _old_per_eur(self, currency: str, day: date, oldest: date) -> tuple[Decimal, date] | None:
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
        if source == target:
            return FxRate.identity(source)
        oldest = on - timedelta(days=max_age_days)
        a = await self._old_per_eur(source, on, oldest)
        b = await self._old_per_eur(target, on, oldest)
        if a is None or b is None:
            return None
        rate_date = min(a[1], b[1]) if source != "EUR" and target != "EUR" else (a[1] if target == "EUR" else b[1])
        return FxRate.cross(source, target, from_per_eur=a[0], to_per_eur=b[0], on=rate_date)


def rates_by_day() -> RatesByDay:
    """Sixty working days of USD and GBP (CHF only on the first): a realistic table to search."""
    loaded: RatesByDay = {}
    for i in range(60):
        day = D - timedelta(days=i)
        loaded[day] = {"USD": Decimal("1.08") + Decimal(i) / 1000, "GBP": Decimal("0.85") + Decimal(i) / 2000}
    loaded[D - timedelta(days=59)]["CHF"] = Decimal("0.95")
    return loaded


async def calls(session: AsyncSession, repo: type[RateRepository], n: int) -> list[FxRate | None]:
    answers = []
    for i in range(n):
        for source, target in PAIRS:
            async with session.begin():
                answers.append(await repo(session).rate(source, target, on=D - timedelta(days=i % 7), max_age_days=4))
    return answers


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            await RateRepository(session).load(rates_by_day())
            await session.commit()
        variants: dict[str, type[RateRepository]] = {"Core per side": OldRates, "one raw statement": RateRepository}
        async with factory() as session:
            answers = [await calls(session, repo, 14) for repo in variants.values()]
        assert answers[0] == answers[1], "the two variants answered differently"
        assert sum(a is None for a in answers[0]) == 14  # GBP->CHF: no CHF rate that recent
        results: dict[str, tuple[list[float], list[float]]] = {how: ([], []) for how in variants}
        async with factory() as session:
            for r in range(rounds + 1):
                for how, repo in variants.items():
                    c0, s0 = time.process_time(), backend_cpu(pid)
                    await calls(session, repo, n)
                    if r:  # the first round warms up
                        results[how][0].append((time.process_time() - c0) / (len(PAIRS) * n) * 1000)
                        results[how][1].append((backend_cpu(pid) - s0) / (len(PAIRS) * n) * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"budgets rate in force, {rounds} x {n} x {len(PAIRS)} calls per variant, alternated;")
    print(f"load {load[0]:.2f}/{load[1]:.2f}; the same answers from both (checked)")
    print(f"{'per call (its transaction)':28}{'client ms':>10}{'backend ms':>11}")
    for how, (client, server) in results.items():
        print(f"  {how:26}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
