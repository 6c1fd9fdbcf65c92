"""Checklist templates: versioned lists of items per kind (onboarding, offboarding) and language.

An item names who is responsible (a group such as ``hr``, ``it``, ``facilities``, ``security``, or
``manager`` / ``employee``, which mean the employee's manager and the employee themself), when it
is due (days relative to the start date or the last day), which items must be done first, for
whom it applies (department, location, employment type) and what evidence closes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from backoffice_checklists.domain.errors import InvalidTemplate

Kind = Literal["onboarding", "offboarding"]
Language = Literal["de", "en"]
Anchor = Literal["start_date", "last_day"]
Evidence = Literal[
    "confirmation", "serial_number", "document_reference", "sign_off", "interview_held", "purchase_received"
]
CONDITION_FIELDS = ("department", "location", "employment_type")
ANCHOR_OF: dict[str, Anchor] = {"onboarding": "start_date", "offboarding": "last_day"}
"""Onboarding runs towards and after the start date, offboarding towards and after the last day."""
PERSONAL = ("manager", "employee")
"""Responsibles that are one person of the checklist, not a group."""


@dataclass(frozen=True)
class Due:
    anchor: Anchor
    offset_days: int

    def on(self, *, start_date: date, last_day: date | None) -> date:
        base = start_date if self.anchor == "start_date" or last_day is None else last_day
        return base + timedelta(days=self.offset_days)


@dataclass(frozen=True)
class Purchase:
    """Equipment an item orders: a draft purchase request for the employee's manager (money as decimal strings)."""

    description: str
    quantity: str
    unit: str
    unit_price: str
    currency: str
    category: str
    cost_center: str | None = None
    """None: the employee's department is the cost centre."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "quantity": self.quantity,
            "unit": self.unit,
            "unit_price": self.unit_price,
            "currency": self.currency,
            "category": self.category,
            "cost_center": self.cost_center,
        }


@dataclass(frozen=True)
class TemplateItem:
    key: str
    title: str
    responsible: str
    due: Due
    evidence: Evidence = "confirmation"
    depends_on: tuple[str, ...] = ()
    conditions: dict[str, frozenset[str]] = field(default_factory=dict)
    """Field -> accepted values; an item applies when the employee's value is among them for every field."""
    access_revocation: bool = False
    """An offboarding item that removes access: must be done by the last day, escalates to security."""
    purchase: Purchase | None = None
    """What the item orders when it becomes ready; the order's receipt completes it."""

    def applies_to(self, facts: dict[str, str | None]) -> bool:
        return all(facts.get(name) in accepted for name, accepted in self.conditions.items())

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "responsible": self.responsible,
            "due": {"anchor": self.due.anchor, "offset_days": self.due.offset_days},
            "evidence": self.evidence,
            "depends_on": list(self.depends_on),
            "conditions": {name: sorted(values) for name, values in self.conditions.items()},
            "access_revocation": self.access_revocation,
            "purchase": self.purchase.as_dict() if self.purchase else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TemplateItem:
        return cls(
            key=data["key"],
            title=data["title"],
            responsible=data["responsible"],
            due=Due(data["due"]["anchor"], data["due"]["offset_days"]),
            evidence=data.get("evidence", "confirmation"),
            depends_on=tuple(data.get("depends_on", ())),
            conditions={name: frozenset(values) for name, values in data.get("conditions", {}).items()},
            access_revocation=data.get("access_revocation", False),
            purchase=Purchase(**data["purchase"]) if data.get("purchase") else None,
        )


@dataclass(frozen=True)
class Template:
    key: str
    kind: Kind
    language: Language
    version: int
    title: str
    items: tuple[TemplateItem, ...]

    def __post_init__(self) -> None:
        validate(self)

    def item(self, key: str) -> TemplateItem:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)


def validate(template: Template) -> None:
    """Refuse what could never run: duplicate keys, unknown or cyclic dependencies, wrong anchors."""
    if not template.items:
        raise InvalidTemplate("a template needs at least one item", field="items")
    keys = [item.key for item in template.items]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise InvalidTemplate(f"item keys must be unique: {', '.join(duplicates)}", field="items")
    for item in template.items:
        unknown = [d for d in item.depends_on if d not in keys]
        if unknown:
            raise InvalidTemplate(f"item {item.key} depends on unknown items: {', '.join(unknown)}", field="items")
        bad = [name for name in item.conditions if name not in CONDITION_FIELDS]
        if bad:
            raise InvalidTemplate(f"item {item.key} has conditions on unknown fields: {', '.join(bad)}", field="items")
        if item.due.anchor != ANCHOR_OF[template.kind]:
            raise InvalidTemplate(
                f"{template.kind} item {item.key} must be due relative to the {ANCHOR_OF[template.kind]}", field="items"
            )
        if item.access_revocation and template.kind != "offboarding":
            raise InvalidTemplate(f"item {item.key}: access revocation belongs to offboarding", field="items")
        if item.access_revocation and (item.due.anchor != "last_day" or item.due.offset_days > 0):
            raise InvalidTemplate(f"access revocation item {item.key} must be due by the last day", field="items")
        if (item.purchase is None) != (item.evidence != "purchase_received"):
            raise InvalidTemplate(
                f"item {item.key}: a purchase and the purchase_received evidence go together", field="items"
            )
        if item.purchase is not None and item.responsible != "manager":
            raise InvalidTemplate(f"purchase item {item.key} is the manager's (the draft is theirs)", field="items")
    _refuse_cycles(template)


def _refuse_cycles(template: Template) -> None:
    depends = {item.key: item.depends_on for item in template.items}
    done: set[str] = set()

    def visit(key: str, path: tuple[str, ...]) -> None:
        if key in path:
            cycle = " -> ".join((*path[path.index(key) :], key))
            raise InvalidTemplate(f"the dependencies form a cycle: {cycle}", field="items")
        if key in done:
            return
        for dependency in depends[key]:
            visit(dependency, (*path, key))
        done.add(key)

    for key in depends:
        visit(key, ())
