"""What changed between two revisions: header fields, and the lines aligned like a text diff."""

from __future__ import annotations

from dataclasses import asdict
from difflib import SequenceMatcher
from typing import Any

from backoffice_requests.domain import money
from backoffice_requests.domain.content import Content, Line

_LINE_FIELDS = ("description", "quantity", "unit", "unit_price", "amount", "sku")
_HEADER_FIELDS = (
    "title",
    "description",
    "vendor_id",
    "currency",
    "cost_center",
    "department",
    "category",
    "needed_by",
    "total",
    "attachments",
)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [asdict(item) if hasattr(item, "__dataclass_fields__") else item for item in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value if value is None or isinstance(value, str | int) else str(value)


def _line_value(line: Line, name: str) -> Any:
    value = getattr(line, name)
    return money.format_quantity(value) if name == "quantity" else _plain(value)


def _line(line: Line) -> dict[str, Any]:
    return {"line_no": line.line_no, **{name: _line_value(line, name) for name in _LINE_FIELDS}}


def _identity(line: Line) -> str:
    """Lines are matched by SKU when they have one, else by description."""
    return f"sku:{line.sku}" if line.sku else f"text:{line.description.strip().lower()}"


def diff_contents(before: Content, after: Content) -> dict[str, Any]:
    fields = [
        {"field": name, "from": _plain(getattr(before, name)), "to": _plain(getattr(after, name))}
        for name in _HEADER_FIELDS
        if getattr(before, name) != getattr(after, name)
    ]
    lines: list[dict[str, Any]] = []
    matcher = SequenceMatcher(
        a=[_identity(x) for x in before.lines], b=[_identity(x) for x in after.lines], autojunk=False
    )
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for old, new in zip(before.lines[i1:i2], after.lines[j1:j2], strict=True):
                changes = {
                    name: {"from": _line_value(old, name), "to": _line_value(new, name)}
                    for name in _LINE_FIELDS
                    if getattr(old, name) != getattr(new, name)
                }
                if changes:
                    lines.append(
                        {"change": "changed", "from_line_no": old.line_no, "to_line_no": new.line_no, "fields": changes}
                    )
            continue
        for old in before.lines[i1:i2]:
            lines.append({"change": "removed", "from_line_no": old.line_no, "line": _line(old)})
        for new in after.lines[j1:j2]:
            lines.append({"change": "added", "to_line_no": new.line_no, "line": _line(new)})
    return {"fields": fields, "lines": lines}
