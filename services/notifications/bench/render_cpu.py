"""CPU of rendering the flow's emails: Babel called with a locale's name and the money pattern's text (old, the
filters as they were, copied below) against the locales and the pattern parsed once (``mail.formats``, new)
(not a test).

The emails are the ones a flow renders that format money, numbers, days or times: the purchase order (three
money amounts, a quantity, two days) in German and English with three lines, the task assigned (a time), the
contract ready (a day). Before timing, every email is rendered with both filter sets and must come out the same
(subject, text and HTML); then old and new are alternated round by round (``render`` with the environment's
filters swapped); reported: CPU per email (median of ``--rounds``).

    .venv/bin/python services/notifications/bench/render_cpu.py --n 300 --rounds 6
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from jinja2 import pass_context
from jinja2.runtime import Context

from backoffice_notifications.mail import render as rendering
from backoffice_notifications.mail.formats import FILTERS, LOCALES, MONEY

# The filters before this change (mail/formats.py at 34dbaed), unchanged.


def _locale(context: Context) -> str:
    return LOCALES.get(str(context.get("_locale", "en")), "en_GB")


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
def old_money(context: Context, value: Any, currency: str) -> str:
    number = _decimal(value)
    if number is None or len(currency) != 3:
        return f"{value} {currency}".strip()
    return format_currency(number, currency, format=MONEY, locale=_locale(context), currency_digits=False)


@pass_context
def old_number(context: Context, value: Any) -> str:
    parsed = _decimal(value)
    return str(value) if parsed is None else format_decimal(parsed, locale=_locale(context))


@pass_context
def old_day(context: Context, value: Any) -> str:
    moment = _moment(value)
    if moment is None:
        return "" if value is None else str(value)
    return format_date(moment.date() if isinstance(moment, datetime) else moment, "long", locale=_locale(context))


@pass_context
def old_moment(context: Context, value: Any) -> str:
    parsed = _moment(value)
    if not isinstance(parsed, datetime):
        return old_day(context, value)
    at = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    locale = _locale(context)
    pattern = "d. MMMM y, HH:mm" if locale.startswith("de") else "d MMMM y, HH:mm"
    when = format_datetime(at.astimezone(UTC), pattern, tzinfo=UTC, locale=locale)
    return f"{when} UTC"


OLD = {"money": old_money, "number": old_number, "day": old_day, "moment": old_moment}
NEW = dict(FILTERS)

LINES = [
    {
        "line_no": i,
        "description": f"Laptop {i}",
        "quantity": str(i + 1),
        "unit": "pcs",
        "unit_price": "1249.90",
        "amount": str(Decimal("1249.90") * (i + 1)),
    }
    for i in range(1, 4)
]
ORDER = {
    "number": "PR-000123",
    "title": "Laptops",
    "revision": 1,
    "needed_by": "2027-01-15",
    "currency": "EUR",
    "total": "8749.30",
    "lines": LINES,
}
TASK = {
    "assignee": {"name": "Bob"},
    "on_behalf_of": None,
    "request_number": "PR-9",
    "request_title": "Laptops",
    "due_at": "2026-11-30T19:11:50.298986+00:00",
    "task_url": "http://127.0.0.1/tasks/1",
}
EMAILS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "purchase_order",
        language,
        {"vendor_name": "Muster GmbH", "request": ORDER, "respond_url": "http://x/l/1", "expires_at": "2026-12-11"},
    )
    for language in ("de", "en")
] + [("task_assigned", "en", TASK), ("task_assigned", "de", TASK)]


def with_filters(filters: dict[str, Any]) -> None:
    rendering._ENV.filters.update(filters)


def render_all() -> list[rendering.RenderedMail]:
    return [rendering.render(name, language, context) for name, language, context in EMAILS]


def cpu_ms_per_email(filters: dict[str, Any], n: int) -> float:
    with_filters(filters)
    start = time.process_time()
    for _ in range(n):
        render_all()
    return (time.process_time() - start) * 1000 / (n * len(EMAILS))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    with_filters(OLD)
    old = render_all()
    with_filters(NEW)
    new = render_all()
    assert old == new, "old and new filters render different emails"
    assert "8.749,30 EUR" in new[0].text
    assert "8,749.30 EUR" in new[1].text
    for filters in (OLD, NEW):  # warm: Babel's data loaded, templates compiled
        cpu_ms_per_email(filters, 20)
    figures: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(args.rounds):
        figures["old"].append(cpu_ms_per_email(OLD, args.n))
        figures["new"].append(cpu_ms_per_email(NEW, args.n))
    with_filters(NEW)
    o, w = statistics.median(figures["old"]), statistics.median(figures["new"])
    print(f"{len(EMAILS)} emails checked equal; load {os.getloadavg()[0]:.1f}")
    times = f"{args.rounds} x {args.n} x {len(EMAILS)}"
    print(f"CPU per email (median of {times}): old {o:.3f} ms, new {w:.3f} ms, {w / o:.2f}")


if __name__ == "__main__":
    main()
