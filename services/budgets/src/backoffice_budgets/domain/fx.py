"""Exchange rates: the ECB reference-rate CSV format and conversion at a rate that is kept with the movement.

The ECB publishes how many units of each currency one euro buys, one row per working day, in two
files of one format: ``eurofxref.csv`` (today, ``27 November 2026``) and ``eurofxref-hist.csv``
(every day since 1999, ISO dates, ``N/A`` where a currency had no rate). Both are accepted.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from backoffice_budgets.domain.errors import InvalidRates
from backoffice_budgets.domain.money import quantize

RATE_PLACES = Decimal("1e-10")

RatesByDay = dict[date, dict[str, Decimal]]
"""Per ECB working day: currency -> units per euro."""


def parse_ecb_csv(content: str) -> RatesByDay:
    rows = [row for row in csv.reader(io.StringIO(content)) if any(cell.strip() for cell in row)]
    if not rows:
        raise InvalidRates("the rate file is empty", field="body")
    header = [cell.strip() for cell in rows[0]]
    if not header or header[0] != "Date":
        raise InvalidRates("the first row must be the ECB header: Date, USD, JPY, ...", field="body")
    currencies = header[1:]
    for code in currencies:
        if code and (len(code) != 3 or not code.isalpha() or not code.isupper()):
            raise InvalidRates(f"header: {code!r} is not an ISO 4217 currency code", field="body")
    result: RatesByDay = {}
    for line_no, row in enumerate(rows[1:], start=2):
        day = _day(row[0].strip(), line_no)
        if day in result:
            raise InvalidRates(f"line {line_no}: {day} appears twice", field="body")
        rates: dict[str, Decimal] = {}
        for code, cell in zip(currencies, row[1:], strict=False):
            value = cell.strip()
            if not code or value in ("", "N/A"):
                continue
            rates[code] = _rate(value, code, line_no)
        result[day] = rates
    if not result:
        raise InvalidRates("the rate file has a header but no rates", field="body")
    return result


def _day(value: str, line_no: int) -> date:
    for pattern in ("%Y-%m-%d", "%d %B %Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise InvalidRates(f"line {line_no}: {value!r} is not a date like 2026-11-27 or 27 November 2026", field="body")


def _rate(value: str, code: str, line_no: int) -> Decimal:
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise InvalidRates(f"line {line_no}: {code} rate {value!r} is not a number", field="body") from None
    if not rate.is_finite() or rate <= 0 or rate > Decimal("1e9"):
        raise InvalidRates(f"line {line_no}: {code} rate {value!r} must be a positive number", field="body")
    return rate


@dataclass(frozen=True)
class FxRate:
    """Units of ``to_currency`` per unit of ``from_currency``, as the ECB published it on ``rate_date``."""

    from_currency: str
    to_currency: str
    rate: Decimal
    rate_date: date | None
    """None when no conversion was needed (same currency, rate 1)."""

    @classmethod
    def identity(cls, currency: str) -> FxRate:
        return cls(currency, currency, Decimal(1), None)

    @classmethod
    def cross(
        cls, from_currency: str, to_currency: str, *, from_per_eur: Decimal, to_per_eur: Decimal, on: date
    ) -> FxRate:
        return cls(from_currency, to_currency, (to_per_eur / from_per_eur).quantize(RATE_PLACES), on)

    def convert(self, amount: Decimal) -> Decimal:
        return quantize(amount * self.rate, self.to_currency)

    def as_dict(self) -> dict[str, str | None]:
        return {
            "from_currency": self.from_currency,
            "to_currency": self.to_currency,
            "rate": format(self.rate, "f"),
            "rate_date": self.rate_date.isoformat() if self.rate_date else None,
        }
