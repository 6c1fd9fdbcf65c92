"""Money as ``Decimal`` quantized to the currency's minor units (ISO 4217)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from backoffice_requests.domain.errors import InvalidRequest

# ISO 4217 minor units of the currencies the platform accepts; an unknown code is refused.
MINOR_UNITS: dict[str, int] = {
    "AED": 2, "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2, "CZK": 2,
    "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0,
    "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PLN": 2,
    "RON": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "UGX": 0, "USD": 2,
    "VND": 0, "ZAR": 2,
}  # fmt: skip

MAX_UNIT_PRICE = Decimal("1000000000000")
MAX_QUANTITY = Decimal("1000000000")
QUANTITY_DECIMALS = 3


def minor_units(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise InvalidRequest(f"unknown currency {currency!r} (ISO 4217 code expected)", field="currency") from None


def decimals_of(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _finite(value: Decimal, field: str) -> None:
    if not value.is_finite():
        raise InvalidRequest(f"{field} must be a finite number", field=field)


def unit_price(value: Decimal, currency: str, *, field: str) -> Decimal:
    """A price in the currency: not negative, at most the currency's minor units of decimals."""
    _finite(value, field)
    units = minor_units(currency)
    if value < 0:
        raise InvalidRequest(f"{field} must not be negative", field=field)
    if value > MAX_UNIT_PRICE:
        raise InvalidRequest(f"{field} must not exceed {MAX_UNIT_PRICE}", field=field)
    if decimals_of(value) > units:
        raise InvalidRequest(f"{field} has more than {units} decimals, the minor units of {currency}", field=field)
    return quantize(value, currency)


def quantity(value: Decimal, *, field: str) -> Decimal:
    _finite(value, field)
    if value <= 0:
        raise InvalidRequest(f"{field} must be greater than zero", field=field)
    if value > MAX_QUANTITY:
        raise InvalidRequest(f"{field} must not exceed {MAX_QUANTITY}", field=field)
    if decimals_of(value) > QUANTITY_DECIMALS:
        raise InvalidRequest(f"{field} has more than {QUANTITY_DECIMALS} decimals", field=field)
    return value.normalize() if decimals_of(value) else value.quantize(Decimal(1))


def quantize(value: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's minor units (used for line amounts and totals)."""
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def format_quantity(value: Decimal) -> str:
    """A plain decimal string without exponent (``Decimal('1E+1')`` becomes ``"10"``)."""
    return format(value, "f")
