"""The checklist of one employee: items instantiated from a template, done in dependency order.

The aggregate records its events (``checklist.started``, ``item_ready``, ``item_done``,
``item_overdue``, ``completed``, ``cancelled``); the unit of work turns them into outbox rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from backoffice_checklists.domain.employees import Employee
from backoffice_checklists.domain.errors import ChecklistClosed, InvalidEvidence, ItemNotReady
from backoffice_checklists.domain.evidence import check_evidence
from backoffice_checklists.domain.templates import PERSONAL, Due, Evidence, Kind, Template, TemplateItem

ItemStatus = Literal["waiting", "ready", "done"]
Status = Literal["running", "completed", "cancelled"]
SECURITY_GROUP = "security"
PURCHASES = uuid.UUID("5d6f0b0e-3c1a-4f0e-9a57-6b1c2f3e4d50")
"""Namespace of the purchase request ids a checklist names: one id per (checklist, item), so a repeat
of ``checklist.purchase_requested`` cannot make requests draft twice."""
RECEIVER = "requests"
"""Who completes a purchase item: the purchase request's receipt (``purchase_request.receipt_confirmed``)."""


@dataclass(frozen=True)
class DomainEvent:
    type: str
    subject: str
    data: dict[str, Any]


@dataclass
class Item:
    key: str
    title: str
    responsible: str
    assignee_group: str | None
    assignee_user: str | None
    due: Due
    due_on: date
    evidence_kind: Evidence
    depends_on: tuple[str, ...]
    access_revocation: bool = False
    status: ItemStatus = "waiting"
    evidence: dict[str, str] | None = None
    done_by: str | None = None
    done_at: datetime | None = None
    overdue_at: datetime | None = None
    escalated_to: str | None = None
    purchase: dict[str, Any] | None = None
    purchase_request_id: str | None = None

    @property
    def red_flag(self) -> bool:
        """An access that was still open after the last day."""
        return self.access_revocation and self.escalated_to is not None and self.status != "done"

    def assigned_to(self, *, user: str, groups: frozenset[str]) -> bool:
        if self.assignee_user is not None:
            return self.assignee_user == user
        return self.assignee_group in groups or (self.escalated_to is not None and self.escalated_to in groups)


def assignee_of(item: TemplateItem, employee: Employee) -> tuple[str | None, str | None]:
    """(group, user): ``manager`` and ``employee`` are people of the checklist; a missing manager falls to HR."""
    if item.responsible == "employee":
        return None, employee.id
    if item.responsible == "manager":
        return (None, employee.manager_id) if employee.manager_id else ("hr", None)
    return item.responsible, None


def instantiate(template: Template, employee: Employee) -> list[Item]:
    """The items of ``template`` that apply to ``employee``; dependencies on left-out items are dropped."""
    chosen = [t for t in template.items if t.applies_to(employee.facts)]
    keys = {t.key for t in chosen}
    items = []
    for t in chosen:
        group, user = assignee_of(t, employee)
        items.append(
            Item(
                key=t.key,
                title=t.title,
                responsible=t.responsible,
                assignee_group=group,
                assignee_user=user,
                due=t.due,
                due_on=t.due.on(start_date=employee.start_date, last_day=employee.last_day),
                evidence_kind=t.evidence,
                depends_on=tuple(d for d in t.depends_on if d in keys),
                access_revocation=t.access_revocation,
                purchase=t.purchase.as_dict() if t.purchase else None,
            )
        )
    return items


@dataclass
class Checklist:
    id: str
    kind: Kind
    employee: Employee
    template_key: str
    template_version: int
    items: list[Item]
    status: Status = "running"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    version: int = 0
    events: list[DomainEvent] = field(default_factory=list)

    @classmethod
    def start(cls, *, id: str, template: Template, employee: Employee, now: datetime) -> Checklist:
        checklist = cls(
            id=id,
            kind=template.kind,
            employee=employee,
            template_key=template.key,
            template_version=template.version,
            items=instantiate(template, employee),
            started_at=now,
        )
        checklist._record("checklist.started", items=[checklist._item_data(i) for i in checklist.items])
        checklist._release_ready()
        return checklist

    def item(self, key: str) -> Item:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)

    @property
    def progress(self) -> tuple[int, int]:
        return sum(1 for i in self.items if i.status == "done"), len(self.items)

    def overdue(self, today: date) -> list[Item]:
        return [i for i in self.items if i.status != "done" and i.due_on < today]

    def complete_item(self, key: str, *, evidence: dict[str, str], by: str, now: datetime) -> bool:
        """Close an item with its evidence; False when it was already done (a repeat changes nothing)."""
        self._refuse_unless_running()
        item = self.item(key)
        if item.status == "done":
            return False
        if item.status != "ready":
            waiting = [d for d in item.depends_on if self.item(d).status != "done"]
            raise ItemNotReady(f"item {key} waits for {', '.join(waiting)}", waiting_for=waiting)
        item.evidence = check_evidence(item.evidence_kind, evidence, completed_by=by)
        item.status, item.done_by, item.done_at = "done", by, now
        self._record("checklist.item_done", item=self._item_data(item), done_by=by, done_at=now.isoformat())
        self._release_ready()
        if all(i.status == "done" for i in self.items):
            self.status, self.ended_at = "completed", now
            self._record("checklist.completed", started_at=_iso(self.started_at), completed_at=now.isoformat())
        return True

    def purchase_received(self, request_id: str, *, now: datetime) -> Item | None:
        """The order of a purchase item was received: the item is done (None when already done or closed)."""
        for item in self.items:
            if item.purchase_request_id == request_id:
                if self.status != "running" or item.status == "done":
                    return None
                self.complete_item(item.key, evidence={"purchase_request_id": request_id}, by=RECEIVER, now=now)
                return item
        return None

    def remind(self, key: str, *, now: datetime) -> bool:
        """The due day of a ready item has begun: one ``item_reminder_due`` (not for a waiting, done or
        overdue item, nor in a closed checklist)."""
        item = self.item(key)
        if self.status != "running" or item.status != "ready" or item.overdue_at is not None:
            return False
        self._record("checklist.item_reminder_due", item=self._item_data(item), reminded_at=now.isoformat())
        return True

    def mark_overdue(self, key: str, *, now: datetime) -> bool:
        """The item's due date passed undone: one ``item_overdue``; False when nothing is overdue."""
        item = self.item(key)
        if self.status != "running" or item.status == "done" or item.overdue_at is not None:
            return False
        item.overdue_at = now
        self._record("checklist.item_overdue", item=self._item_data(item), escalated_to=None, red_flag=False)
        return True

    def escalate_access(self, key: str, *, now: datetime) -> bool:
        """An access item still open after the last day goes to the security group and shows red."""
        item = self.item(key)
        if self.status != "running" or item.status == "done" or not item.access_revocation or item.escalated_to:
            return False
        item.escalated_to = SECURITY_GROUP
        item.overdue_at = item.overdue_at or now
        self._record("checklist.item_overdue", item=self._item_data(item), escalated_to=SECURITY_GROUP, red_flag=True)
        return True

    def move_last_day(self, last_day: date) -> list[Item]:
        """A changed last day moves every undone item due relative to it; returns the moved items."""
        self._refuse_unless_running()
        self.employee = replace(self.employee, last_day=last_day)
        moved = []
        for item in self.items:
            if item.due.anchor != "last_day" or item.status == "done":
                continue
            new_due = item.due.on(start_date=self.employee.start_date, last_day=last_day)
            if new_due != item.due_on:
                item.due_on, item.overdue_at, item.escalated_to = new_due, None, None
                moved.append(item)
        return moved

    def cancel(self, *, reason: str, now: datetime) -> bool:
        if self.status != "running":
            return False
        self.status, self.ended_at = "cancelled", now
        self._record("checklist.cancelled", reason=reason, cancelled_at=now.isoformat())
        return True

    def take_events(self) -> list[DomainEvent]:
        events, self.events = self.events, []
        return events

    def _release_ready(self) -> None:
        for item in self.items:
            if item.status == "waiting" and all(self.item(d).status == "done" for d in item.depends_on):
                item.status = "ready"
                self._record("checklist.item_ready", item=self._item_data(item))
                self._request_purchase(item)

    def _request_purchase(self, item: Item) -> None:
        """A ready purchase item of someone with a manager asks requests for the manager's draft."""
        if item.purchase is None or item.purchase_request_id is not None or not self.employee.manager_id:
            return
        p = item.purchase
        item.purchase_request_id = str(uuid.uuid5(PURCHASES, f"{self.id}/{item.key}"))
        amount = Decimal(p["quantity"]) * Decimal(p["unit_price"])
        self._record(
            "checklist.purchase_requested",
            item=self._item_data(item),
            request_id=item.purchase_request_id,
            manager={"id": self.employee.manager_id, "email": self.employee.manager_email},
            title=f"{item.title}: {self.employee.name}",
            lines=[{k: p[k] for k in ("description", "quantity", "unit", "unit_price")}],
            amount=str(amount.quantize(Decimal("0.01"))),
            currency=p["currency"],
            cost_center=p.get("cost_center") or self.employee.department or "",
            department=self.employee.department or "",
            category=p["category"],
            needed_by=item.due_on.isoformat(),
        )

    def _refuse_unless_running(self) -> None:
        if self.status != "running":
            raise ChecklistClosed(f"checklist {self.id} is {self.status}", status=self.status)

    def _item_data(self, item: Item) -> dict[str, Any]:
        return {
            "key": item.key,
            "title": item.title,
            "assignee_group": item.assignee_group,
            "assignee_user": item.assignee_user,
            "due_on": item.due_on.isoformat(),
            "evidence": item.evidence_kind,
            "access_revocation": item.access_revocation,
            "purchase_request_id": item.purchase_request_id,
        }

    def _record(self, type: str, **data: Any) -> None:
        header = {
            "checklist_id": self.id,
            "kind": self.kind,
            "language": self.employee.language,
            "employee": {
                "id": self.employee.id,
                "name": self.employee.name,
                "email": self.employee.email,
                "department": self.employee.department,
            },
            "manager": {"id": self.employee.manager_id, "email": self.employee.manager_email},
            "template": {"key": self.template_key, "version": self.template_version},
        }
        self.events.append(DomainEvent(type, self.id, {**header, **data}))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


__all__ = ["PERSONAL", "Checklist", "DomainEvent", "InvalidEvidence", "Item", "assignee_of", "instantiate"]
