"""Tolerant readers of payload values: events of other services are facts, not input to refuse."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from backoffice_insights.domain.view import Person


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def person(value: Any) -> Person | None:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        return None
    return Person(id=value["id"], name=text(value.get("name")) or value["id"])


def decimal(value: Any) -> Decimal | None:
    if not isinstance(value, str | int):
        return None
    try:
        result = Decimal(value)
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def amount_band(total: Decimal | None, bands: list[Decimal]) -> str:
    """``"<1000"``, ``"1000-10000"``, ..., ``">=100000"`` for ascending upper limits ``bands``."""
    if total is None:
        return ""
    lower: Decimal | None = None
    for upper in bands:
        if total < upper:
            return f"<{upper}" if lower is None else f"{lower}-{upper}"
        lower = upper
    return f">={lower}" if lower is not None else "all"
