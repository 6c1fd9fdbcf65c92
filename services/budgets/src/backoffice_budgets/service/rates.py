"""Exchange-rate use case: load a file in the ECB reference-rate CSV format."""

from __future__ import annotations

from typing import Any

from backoffice_budgets.domain.fx import parse_ecb_csv
from backoffice_budgets.repository.uow import BudgetsUnitOfWork


async def load(*, uow: BudgetsUnitOfWork, content: str) -> dict[str, Any]:
    rates = parse_ecb_csv(content)
    count = await uow.rates.load(rates)
    await uow.commit()
    days = sorted(rates)
    currencies = sorted({code for by_code in rates.values() for code in by_code})
    return {"days": len(days), "rates": count, "first_day": days[0], "last_day": days[-1], "currencies": currencies}
