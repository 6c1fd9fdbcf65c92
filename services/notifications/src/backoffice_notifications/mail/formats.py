"""Numbers, money, dates and times in an email, written as its language writes them (Babel).

Each filter reads the language of the email being rendered (``_locale`` in the context). A value that
is not what the filter expects (an empty or free-text field) is written as it came, never refused:
an email is not the place to validate an event's payload.

Babel's functions take a locale's name and a pattern's text and parse both on every call (``Locale.parse``
builds a new ``Locale`` whose data is then looked up afresh; the money pattern is parsed each time): most of a
purchase order's render. The two locales and the money pattern are parsed once, here, and handed over parsed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.core import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import NumberPattern, format_decimal, parse_pattern
from jinja2 import pass_context
from jinja2.runtime import Context

LOCALES = {"en": "en_GB", "de": "de_DE"}
MONEY = "#,##0.00 ¤¤"
"""Two decimals and the ISO code after the amount in every language: ``1.156,00 EUR``, ``1,156.00 EUR``
(the contract's PDF writes money the same way)."""

_PARSED = {language: Locale.parse(name) for language, name in LOCALES.items()}
_MONEY: NumberPattern = parse_pattern(MONEY)


def _locale(context: Context) -> Locale:
    return _PARSED.get(str(context.get("_locale", "en")), _PARSED["en"])


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _moment(value: Any) -> date | datetime | None:
    if isinstance(value, date | datetime):
        return value
    try:
        text = str(value).replace("Z", "+00:00")
        return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    except ValueError:
        return None


@pass_context
def money(context: Context, value: Any, currency: str) -> str:
    number = _decimal(value)
    if number is None or len(currency) != 3:
        return f"{value} {currency}".strip()
    # What babel.numbers.format_currency(number, currency, format=MONEY, locale=..., currency_digits=False) does
    # once the locale and the pattern are parsed.
    written: str = _MONEY.apply(number, _locale(context), currency=currency, currency_digits=False)
    return written


@pass_context
def number(context: Context, value: Any) -> str:
    parsed = _decimal(value)
    return str(value) if parsed is None else format_decimal(parsed, locale=_locale(context))


@pass_context
def day(context: Context, value: Any) -> str:
    moment = _moment(value)
    if moment is None:
        return "" if value is None else str(value)
    return format_date(moment.date() if isinstance(moment, datetime) else moment, "long", locale=_locale(context))


@pass_context
def moment(context: Context, value: Any) -> str:
    """A date and time in UTC, e.g. ``30 November 2026, 19:11 UTC`` / ``30. November 2026, 19:11 UTC``."""
    parsed = _moment(value)
    if not isinstance(parsed, datetime):
        return day(context, value)
    at = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    locale = _locale(context)
    pattern = "d. MMMM y, HH:mm" if locale.language == "de" else "d MMMM y, HH:mm"
    when = format_datetime(at.astimezone(UTC), pattern, tzinfo=UTC, locale=locale)
    return f"{when} UTC"


FILTERS = {"money": money, "number": number, "day": day, "moment": moment}
