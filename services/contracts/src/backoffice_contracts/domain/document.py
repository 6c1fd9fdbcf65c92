"""The data a contract template is rendered with, formatted for the document's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

LANGUAGES = ("en", "de")


class InvalidOrderData(ValueError):
    """The order cannot be turned into a contract (e.g. an amount is not a decimal)."""


def language_for(vendor_language: str | None) -> str:
    return vendor_language if vendor_language in LANGUAGES else "en"


def format_money(amount: str | Decimal, currency: str, *, language: str) -> str:
    """``1,234.50 EUR`` in English, ``1.234,50 EUR`` in German; never through a float."""
    value = _decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{value:,.2f}"
    if language == "de":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return f"{text} {currency}"


def format_quantity(quantity: str | Decimal, *, language: str) -> str:
    value = _decimal(quantity).normalize()
    text = f"{value:f}"
    return text.replace(".", ",") if language == "de" else text


def format_date(value: str | date | None, *, language: str) -> str:
    if value is None or value == "":
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return day.strftime("%d.%m.%Y") if language == "de" else day.isoformat()


def _decimal(value: str | Decimal) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidOrderData(f"{value!r} is not a decimal amount") from exc
    if not result.is_finite():
        raise InvalidOrderData(f"{value!r} is not a finite amount")
    return result


@dataclass(frozen=True)
class PartyDetails:
    name: str
    address: str
    email: str = ""


def contract_data(
    *,
    contract_id: str,
    language: str,
    request: dict[str, Any],
    vendor: PartyDetails,
    buyer: PartyDetails,
    expected_delivery: str | None,
    note: str,
    issued_on: date,
    template_version: int,
) -> dict[str, Any]:
    """Everything the template shows, as strings already formatted for ``language``."""
    currency = str(request["currency"])
    lines = [
        {
            "no": str(line["line_no"]),
            "description": str(line["description"]),
            "sku": str(line.get("sku") or ""),
            "quantity": format_quantity(line["quantity"], language=language),
            "unit": str(line.get("unit") or ""),
            "unit_price": format_money(line["unit_price"], currency, language=language),
            "amount": format_money(line["amount"], currency, language=language),
        }
        for line in request["lines"]
    ]
    delivery = expected_delivery or request.get("needed_by")
    return {
        "contract_id": contract_id,
        "language": language,
        "template_version": template_version,
        "number": str(request["number"]),
        "revision": int(request["revision"]),
        "title": str(request.get("title") or ""),
        "description": str(request.get("description") or ""),
        "issued_on": format_date(issued_on, language=language),
        "delivery_date": format_date(delivery, language=language),
        "currency": currency,
        "total": format_money(request["total"], currency, language=language),
        "cost_center": str(request.get("cost_center") or ""),
        "requester": str((request.get("requester") or {}).get("name") or ""),
        "note": note,
        "buyer": {"name": buyer.name, "address": buyer.address},
        "vendor": {"name": vendor.name, "address": vendor.address, "email": vendor.email},
        "lines": lines,
    }
