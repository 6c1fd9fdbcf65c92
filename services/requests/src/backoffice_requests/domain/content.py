"""What one revision of a request says: header fields, priced lines and the total."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

from backoffice_requests.domain import money
from backoffice_requests.domain.errors import InvalidRequest

MAX_LINES = 500


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    sku: str | None = None


@dataclass(frozen=True)
class Line:
    line_no: int
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    sku: str | None = None

    def as_input(self) -> LineInput:
        return LineInput(self.description, self.quantity, self.unit, self.unit_price, self.sku)


@dataclass(frozen=True)
class Attachment:
    file_name: str
    media_type: str
    size_bytes: int
    url: str | None = None


@dataclass(frozen=True)
class Content:
    title: str
    description: str
    vendor_id: str
    currency: str
    cost_center: str
    department: str
    category: str
    needed_by: date
    lines: tuple[Line, ...]
    attachments: tuple[Attachment, ...]
    total: Decimal


EDITABLE_FIELDS = frozenset(f.name for f in fields(Content)) - {"total"}


def make_content(
    *,
    title: str,
    description: str,
    vendor_id: str,
    currency: str,
    cost_center: str,
    department: str,
    category: str,
    needed_by: date,
    lines: Sequence[LineInput],
    attachments: Sequence[Attachment] = (),
    today: date,
) -> Content:
    """Validate and price a revision's content; the total is always computed here, never taken from a client."""
    if not lines:
        raise InvalidRequest("a request needs at least one line", field="lines")
    if len(lines) > MAX_LINES:
        raise InvalidRequest(f"a request has at most {MAX_LINES} lines", field="lines")
    if needed_by < today:
        raise InvalidRequest(f"needed_by {needed_by.isoformat()} is in the past", field="needed_by")
    money.minor_units(currency)
    priced: list[Line] = []
    for index, line in enumerate(lines):
        where = f"lines[{index}]"
        qty = money.quantity(line.quantity, field=f"{where}.quantity")
        price = money.unit_price(line.unit_price, currency, field=f"{where}.unit_price")
        amount = money.quantize(qty * price, currency)
        priced.append(Line(index + 1, line.description, qty, line.unit, price, amount, line.sku))
    total = money.quantize(sum((line.amount for line in priced), Decimal(0)), currency)
    return Content(
        title=title,
        description=description,
        vendor_id=vendor_id,
        currency=currency,
        cost_center=cost_center,
        department=department,
        category=category,
        needed_by=needed_by,
        lines=tuple(priced),
        attachments=tuple(attachments),
        total=total,
    )


def with_changes(content: Content, changes: Mapping[str, Any], *, today: date) -> Content:
    """The content with some fields replaced (lines replace all lines), validated and priced again."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise InvalidRequest(f"fields that cannot be changed: {', '.join(sorted(unknown))}")
    current: dict[str, Any] = {name: getattr(content, name) for name in EDITABLE_FIELDS}
    current["lines"] = [line.as_input() for line in content.lines]
    current.update(changes)
    return make_content(**current, today=today)


def changed_fields(before: Content, after: Content) -> list[str]:
    return sorted(name for name in EDITABLE_FIELDS if getattr(before, name) != getattr(after, name))


def with_vendor(content: Content, vendor_id: str) -> Content:
    return replace(content, vendor_id=vendor_id)
