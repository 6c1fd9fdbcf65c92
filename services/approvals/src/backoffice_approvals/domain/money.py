"""Converting amounts into a policy's base currency with configured exchange rates."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal


class UnknownRateError(ValueError):
    """No exchange rate is configured for a currency."""


def convert(amount: Decimal, currency: str, *, into: str, base: str, rates: Mapping[str, Decimal]) -> Decimal:
    """``amount`` in ``currency`` expressed in ``into``; ``rates`` give units of ``base`` per unit."""
    if currency == into:
        return amount
    in_base = amount if currency == base else amount * _rate(currency, rates)
    return in_base if into == base else in_base / _rate(into, rates)


def _rate(currency: str, rates: Mapping[str, Decimal]) -> Decimal:
    try:
        return rates[currency]
    except KeyError:
        raise UnknownRateError(f"no exchange rate is configured for {currency}") from None
