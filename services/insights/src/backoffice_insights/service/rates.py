"""Exchange rates into the reporting currency: the only data not derived from events.

No event carries a rate, so an admin loads the table (replacing it as a whole). Spend is
converted when it is read, never when it is folded, so loading rates later (or again after a
replay into an empty database) changes the answers without refolding anything.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Protocol

from backoffice_insights.domain.errors import InvalidRates


class RatesPort(Protocol):
    async def replace_all(self, rates: list[tuple[str, date, Decimal]], *, loaded_by: str) -> None: ...


class RatesUow(Protocol):
    @property
    def rates(self) -> RatesPort: ...
    async def commit(self) -> None: ...


async def load_rates(
    *, uow: RatesUow, rates: list[tuple[str, date, Decimal]], reporting_currency: str, loaded_by: str
) -> int:
    seen: set[tuple[str, date]] = set()
    for currency, valid_from, rate in rates:
        if currency == reporting_currency:
            raise InvalidRates(f"{currency} is the reporting currency; its rate is always 1", field="rates")
        if (currency, valid_from) in seen:
            raise InvalidRates(f"two rates for {currency} from {valid_from}", field="rates")
        if rate <= 0:
            raise InvalidRates(f"the rate of {currency} from {valid_from} must be positive", field="rates")
        seen.add((currency, valid_from))
    await uow.rates.replace_all(rates, loaded_by=loaded_by)
    await uow.commit()
    return len(rates)
