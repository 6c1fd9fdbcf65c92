"""Content of a revision to and from the JSON stored in ``request_revision.content``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from backoffice_requests.domain.content import Attachment, Content, Line
from backoffice_requests.domain.money import format_quantity


def content_to_json(content: Content) -> dict[str, Any]:
    return {
        "title": content.title,
        "description": content.description,
        "vendor_id": content.vendor_id,
        "currency": content.currency,
        "cost_center": content.cost_center,
        "department": content.department,
        "category": content.category,
        "needed_by": content.needed_by.isoformat(),
        "lines": [
            {
                "line_no": line.line_no,
                "description": line.description,
                "quantity": format_quantity(line.quantity),
                "unit": line.unit,
                "unit_price": str(line.unit_price),
                "amount": str(line.amount),
                "sku": line.sku,
            }
            for line in content.lines
        ],
        "attachments": [
            {"file_name": a.file_name, "media_type": a.media_type, "size_bytes": a.size_bytes, "url": a.url}
            for a in content.attachments
        ],
        "total": str(content.total),
    }


def content_from_json(raw: dict[str, Any]) -> Content:
    return Content(
        title=raw["title"],
        description=raw["description"],
        vendor_id=raw["vendor_id"],
        currency=raw["currency"],
        cost_center=raw["cost_center"],
        department=raw["department"],
        category=raw["category"],
        needed_by=date.fromisoformat(raw["needed_by"]),
        lines=tuple(
            Line(
                line_no=x["line_no"],
                description=x["description"],
                quantity=Decimal(x["quantity"]),
                unit=x["unit"],
                unit_price=Decimal(x["unit_price"]),
                amount=Decimal(x["amount"]),
                sku=x.get("sku"),
            )
            for x in raw["lines"]
        ),
        attachments=tuple(Attachment(**a) for a in raw.get("attachments", [])),
        total=Decimal(raw["total"]),
    )
