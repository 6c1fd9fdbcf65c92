"""Fiscal periods: a month (``2026-11``), a quarter (``2026-Q4``) or a year (``2026``) of the calendar."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from backoffice_budgets.domain.errors import InvalidBudget

_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|Q(?P<quarter>[1-4])))?$")


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True)
class FiscalPeriod:
    kind: PeriodKind
    label: str
    start: date
    end: date
    """Exclusive: the first day after the period."""

    @classmethod
    def parse(cls, label: str) -> FiscalPeriod:
        match = _PATTERN.match(label)
        if not match or not 2000 <= int(match["year"]) <= 2999:
            raise InvalidBudget(
                f"{label!r} is not a fiscal period: write a month 2026-11, a quarter 2026-Q4 or a year 2026",
                field="period",
            )
        year = int(match["year"])
        if match["month"]:
            month = int(match["month"])
            if not 1 <= month <= 12:
                raise InvalidBudget(f"{label!r}: the month must be 01 to 12", field="period")
            return cls(PeriodKind.MONTH, label, date(year, month, 1), _month_after(year, month))
        if match["quarter"]:
            first = (int(match["quarter"]) - 1) * 3 + 1
            return cls(PeriodKind.QUARTER, label, date(year, first, 1), _month_after(year, first + 2))
        return cls(PeriodKind.YEAR, label, date(year, 1, 1), date(year + 1, 1, 1))

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def overlaps(self, other: FiscalPeriod) -> bool:
        return self.start < other.end and other.start < self.end


def _month_after(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
