"""Decimal money in ISO 4217 minor units; amounts are never floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from backoffice_budgets.domain.errors import InvalidBudget

ZERO = Decimal(0)

_MINOR_UNITS: dict[str, int] = {
    "BHD": 3, "CLP": 0, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "OMR": 3, "TND": 3,
    "UGX": 0, "VND": 0, "XAF": 0, "XOF": 0,
}  # fmt: skip
_KNOWN = frozenset(
    {
        "AUD", "BGN", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "IDR", "ILS",
        "INR", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "RON", "SEK", "SGD", "THB", "TRY", "USD", "ZAR",
    }
)  # fmt: skip
_KNOWN = _KNOWN | frozenset(_MINOR_UNITS)


def currency(code: str, *, field: str = "currency") -> str:
    """``code`` if it is a currency this service knows (upper-case ISO 4217), else InvalidBudget."""
    if code not in _KNOWN:
        raise InvalidBudget(f"{code!r} is not a supported ISO 4217 currency code", field=field)
    return code


def minor_units(code: str) -> int:
    return _MINOR_UNITS.get(code, 2)


def quantize(amount: Decimal, code: str) -> Decimal:
    """``amount`` rounded half up to the currency's minor units."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(code)), rounding=ROUND_HALF_UP)


def amount(value: str | Decimal, code: str, *, field: str = "amount", positive: bool = True) -> Decimal:
    """A money amount: a finite decimal with no more decimals than ``code`` allows, > 0 when ``positive``."""
    try:
        parsed = Decimal(value)
    except InvalidOperation:
        raise InvalidBudget(f"{value!r} is not a decimal amount", field=field) from None
    if not parsed.is_finite():
        raise InvalidBudget("an amount must be a finite number", field=field)
    if parsed != quantize(parsed, code):
        raise InvalidBudget(f"{code} amounts have at most {minor_units(code)} decimals", field=field)
    if parsed < 0 or (positive and parsed == 0):
        raise InvalidBudget(
            "an amount must be greater than 0" if positive else "an amount must not be negative", field=field
        )
    if parsed >= Decimal("1e15"):
        raise InvalidBudget("an amount must be below 10^15", field=field)
    return quantize(parsed, code)


def text(value: Decimal) -> str:
    """The canonical decimal string of an amount (``1200.00``)."""
    return format(value, "f")
