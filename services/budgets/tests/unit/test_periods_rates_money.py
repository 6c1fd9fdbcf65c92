"""Fiscal periods, the ECB rate file, money amounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backoffice_budgets.domain import money
from backoffice_budgets.domain.errors import InvalidBudget, InvalidRates
from backoffice_budgets.domain.fx import FxRate, parse_ecb_csv
from backoffice_budgets.domain.periods import FiscalPeriod, PeriodKind

DAILY = "Date, USD, JPY, BGN, CZK, \n27 November 2026, 1.0567, 160.12, 1.9558, 25.123, \n"
HISTORY = "Date,USD,JPY,CYP,\n2026-11-27,1.0567,160.12,N/A,\n2026-11-26,1.0500,159.00,N/A,\n"


def test_periods_are_months_quarters_and_years_with_exclusive_ends() -> None:
    assert FiscalPeriod.parse("2026-11").end == date(2026, 12, 1)
    q4 = FiscalPeriod.parse("2026-Q4")
    assert (q4.kind, q4.start, q4.end) == (PeriodKind.QUARTER, date(2026, 10, 1), date(2027, 1, 1))
    assert FiscalPeriod.parse("2026").overlaps(FiscalPeriod.parse("2026-12"))
    assert not FiscalPeriod.parse("2026-11").overlaps(FiscalPeriod.parse("2026-12"))


@pytest.mark.parametrize("label", ["2026-13", "26-11", "2026-Q5", "1999", "2026-1", ""])
def test_a_bad_period_is_refused_with_the_field(label: str) -> None:
    with pytest.raises(InvalidBudget) as err:
        FiscalPeriod.parse(label)
    assert err.value.extensions["field"] == "period"


def test_both_ecb_files_are_read_and_missing_rates_are_skipped() -> None:
    daily = parse_ecb_csv(DAILY)
    assert daily == {
        date(2026, 11, 27): {
            "USD": Decimal("1.0567"),
            "JPY": Decimal("160.12"),
            "BGN": Decimal("1.9558"),
            "CZK": Decimal("25.123"),
        }
    }
    history = parse_ecb_csv(HISTORY)
    assert sorted(history) == [date(2026, 11, 26), date(2026, 11, 27)]
    assert "CYP" not in history[date(2026, 11, 27)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("Day,USD\n2026-11-27,1.0\n", "header"),
        ("Date,USD\n2026-11-27,abc\n", "line 2: USD rate 'abc' is not a number"),
        ("Date,USD\n2026-11-27,-1\n", "must be a positive number"),
        ("Date,USD\n27/11/2026,1.0\n", "is not a date"),
        ("Date,USD\n2026-11-27,1.0\n2026-11-27,1.1\n", "appears twice"),
        ("Date,usd\n2026-11-27,1.0\n", "not an ISO 4217"),
    ],
)
def test_a_bad_rate_file_is_refused_saying_where(content: str, message: str) -> None:
    with pytest.raises(InvalidRates, match=message):
        parse_ecb_csv(content)


def test_cross_rates_convert_through_the_euro_and_round_to_the_target_minor_units() -> None:
    usd_to_jpy = FxRate.cross(
        "USD", "JPY", from_per_eur=Decimal("1.0567"), to_per_eur=Decimal("160.12"), on=date(2026, 11, 27)
    )
    assert usd_to_jpy.convert(Decimal("100.00")) == Decimal("15153")


def test_amounts_respect_the_currency_minor_units() -> None:
    assert money.amount("10.50", "EUR") == Decimal("10.50")
    with pytest.raises(InvalidBudget):
        money.amount("10.5", "JPY")
    with pytest.raises(InvalidBudget):
        money.currency("XYZ")
