"""Money in minor units, content validation and the revision diff."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice_requests.domain import money
from backoffice_requests.domain.content import LineInput, make_content, with_changes
from backoffice_requests.domain.diff import diff_contents
from backoffice_requests.domain.errors import InvalidRequest

TODAY = date(2026, 11, 27)


def content(currency: str = "EUR", lines: list[LineInput] | None = None, needed_by: date = date(2027, 1, 1)):  # type: ignore[no-untyped-def]
    return make_content(
        title="t",
        description="",
        vendor_id="v",
        currency=currency,
        cost_center="CC",
        department="ENG",
        category="hardware",
        needed_by=needed_by,
        lines=lines if lines is not None else [LineInput("Laptop", Decimal(2), "pcs", Decimal("1200.00"))],
        today=TODAY,
    )


def test_the_total_is_computed_in_the_currencys_minor_units() -> None:
    c = content(
        lines=[LineInput("a", Decimal("1.5"), "h", Decimal("0.33")), LineInput("b", Decimal(3), "pcs", Decimal("0.1"))]
    )
    assert [str(line.amount) for line in c.lines] == ["0.50", "0.30"]
    assert str(c.total) == "0.80"


def test_yen_have_no_decimals_and_dinars_have_three() -> None:
    assert str(content("JPY", [LineInput("a", Decimal(1), "pcs", Decimal(500))]).total) == "500"
    assert str(content("BHD", [LineInput("a", Decimal(1), "pcs", Decimal("1.005"))]).total) == "1.005"
    with pytest.raises(InvalidRequest, match="more than 0 decimals"):
        content("JPY", [LineInput("a", Decimal(1), "pcs", Decimal("500.5"))])


@pytest.mark.parametrize("price", ["10.001", "0.123"])
def test_a_price_with_more_decimals_than_the_currency_has_is_refused(price: str) -> None:
    with pytest.raises(InvalidRequest, match="more than 2 decimals"):
        content(lines=[LineInput("a", Decimal(1), "pcs", Decimal(price))])


def test_trailing_zeros_are_not_extra_decimals() -> None:
    assert str(content(lines=[LineInput("a", Decimal(1), "pcs", Decimal("10.5000"))]).total) == "10.50"


@pytest.mark.parametrize("qty", ["0", "-1", "0.0001"])
def test_zero_negative_or_too_fine_quantities_are_refused(qty: str) -> None:
    with pytest.raises(InvalidRequest, match="quantity"):
        content(lines=[LineInput("a", Decimal(qty), "pcs", Decimal(1))])


def test_an_unknown_currency_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="unknown currency"):
        content("XYZ")


def test_a_needed_by_date_in_the_past_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="in the past"):
        content(needed_by=date(2026, 11, 26))


def test_a_request_without_lines_or_with_too_many_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="at least one line"):
        content(lines=[])
    with pytest.raises(InvalidRequest, match="at most"):
        content(lines=[LineInput("a", Decimal(1), "pcs", Decimal(1))] * 10_000)


@given(
    prices=st.lists(st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False), min_size=1, max_size=20),
    qty=st.integers(min_value=1, max_value=1000),
)
def test_the_total_is_exactly_the_sum_of_quantity_times_price(prices: list[Decimal], qty: int) -> None:
    c = content(lines=[LineInput(f"l{i}", Decimal(qty), "pcs", p) for i, p in enumerate(prices)])
    assert c.total == sum(Decimal(qty) * p for p in prices)
    assert money.decimals_of(c.total) <= 2


def test_the_diff_shows_changed_added_and_removed_lines() -> None:
    before = content(
        lines=[
            LineInput("Laptop", Decimal(2), "pcs", Decimal(1200)),
            LineInput("Dock", Decimal(1), "pcs", Decimal(100)),
        ]
    )
    after = with_changes(
        before,
        {
            "title": "t2",
            "lines": [
                LineInput("Laptop", Decimal(3), "pcs", Decimal(1200)),
                LineInput("Mouse", Decimal(1), "pcs", Decimal(20)),
            ],
        },
        today=TODAY,
    )
    diff = diff_contents(before, after)
    assert {f["field"] for f in diff["fields"]} == {"title", "total"}
    assert diff["lines"][0] == {
        "change": "changed",
        "from_line_no": 1,
        "to_line_no": 1,
        "fields": {"quantity": {"from": "2", "to": "3"}, "amount": {"from": "2400.00", "to": "3600.00"}},
    }
    assert [(line["change"], line["line"]["description"]) for line in diff["lines"][1:]] == [
        ("removed", "Dock"),
        ("added", "Mouse"),
    ]
