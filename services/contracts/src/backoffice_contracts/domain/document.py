"""The data a contract template and the signature page are rendered with, formatted for the document's language."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from backoffice_contracts.domain.contract import Contract
from backoffice_contracts.domain.errors import InvalidOrderData
from backoffice_contracts.domain.signature import Party

LANGUAGES = ("en", "de")


def sha256(data: bytes) -> str:
    """The hex SHA-256 that identifies a document (what signers sign, what verification looks up)."""
    return hashlib.sha256(data).hexdigest()


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


ROLE_LABELS = {
    "en": {"procurement": "procurement", "buyer_signatory": "buyer signatory", "vendor": "vendor"},
    "de": {"procurement": "Einkauf", "buyer_signatory": "Zeichnungsberechtigte(r) des Käufers", "vendor": "Lieferant"},
}
CHANNEL_LABELS = {
    "en": {"api": "platform (API)", "link": "signing link", "webhook": "webhook"},
    "de": {"api": "Plattform (API)", "link": "Unterschriftslink", "webhook": "Webhook"},
}
"""The signer's role and the channel of a signature as the signature page names them; an unknown value
is shown as stored."""


def signed_at_label(moment: datetime, *, language: str) -> str:
    """``30.11.2026, 19:11:50 UTC`` in German, ``2026-11-30 19:11:50 UTC`` in English."""
    at = moment.astimezone(UTC)
    return at.strftime("%d.%m.%Y, %H:%M:%S UTC") if language == "de" else at.strftime("%Y-%m-%d %H:%M:%S UTC")


def signature_page_data(contract: Contract) -> dict[str, Any]:
    """The evidence page appended to the executed contract: every signature and the hash each signer saw,
    with roles, channels and times written in the contract's language."""
    de = contract.language == "de"
    lang = "de" if de else "en"
    labels = {Party.BUYER: "Käufer" if de else "Buyer", Party.VENDOR: "Lieferant" if de else "Vendor"}
    return {
        "language": contract.language,
        "contract_id": contract.id,
        "number": contract.request_number,
        "document_sha256": contract.document_sha256,
        "signatures": [
            {
                "party_label": labels[s.party],
                "signer_name": s.signer_name,
                "signer_email": s.signer_email,
                "role": ROLE_LABELS[lang].get(s.role, s.role),
                "channel": CHANNEL_LABELS[lang].get(s.channel, s.channel),
                "signed_at": signed_at_label(s.signed_at, language=lang),
                "client_ip": s.client_ip or "-",
                "user_agent": s.user_agent or "-",
                "document_sha256": s.document_sha256,
            }
            for s in sorted(contract.signatures, key=lambda s: s.signed_at)
        ],
    }
