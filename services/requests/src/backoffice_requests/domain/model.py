"""The purchase request aggregate: it checks every action against the state machine and records events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from backoffice_requests.domain import money
from backoffice_requests.domain.content import Content, changed_fields, with_changes, with_vendor
from backoffice_requests.domain.errors import EventMismatch, InvalidRequest
from backoffice_requests.domain.lifecycle import USER_ACTIONS, Action, Status, require, steps


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str
    department: str | None = None


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    role: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "role": self.role}


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened to the request, named in the past tense as on the wire."""

    type: str
    data: dict[str, Any]
    actor: Actor


@dataclass
class PurchaseRequest:
    id: str
    number: str
    requester: Person
    status: Status
    revision: int
    content: Content
    version: int = 1
    received: dict[int, Decimal] = field(default_factory=dict)
    events: list[DomainEvent] = field(default_factory=list)
    new_revisions: list[int] = field(default_factory=list)
    draft_edited: bool = False

    @classmethod
    def draft(cls, *, id: str, number: str, requester: Person, content: Content, actor: Actor) -> PurchaseRequest:
        request = cls(id=id, number=number, requester=requester, status=Status.DRAFT, revision=1, content=content)
        request.new_revisions.append(1)
        request._record("purchase_request.drafted", actor, {"request": request.snapshot()})
        return request

    # commands of users

    def update_draft(self, changes: Mapping[str, Any], *, today: date, actor: Actor) -> list[str]:
        self._require(Action.EDIT)
        updated = with_changes(self.content, changes, today=today)
        changed = changed_fields(self.content, updated)
        if not changed:
            return changed
        self.content = updated
        self.draft_edited = True
        self._bump()
        self._record("purchase_request.draft_updated", actor, {"changed_fields": changed})
        return changed

    def submit(self, *, today: date, actor: Actor, submitted_at: str) -> None:
        self._require(Action.SUBMIT)
        self._check_needed_by(today)
        self._move(Status.SUBMITTED)
        self._record("purchase_request.submitted", actor, {"request": self.snapshot(), "submitted_at": submitted_at})

    def cancel(self, *, reason: str, actor: Actor, cause: str | None = None) -> None:
        """``cause`` names an automatic withdrawal (``vendor_blocked``); a person's cancellation has none."""
        self._require(Action.CANCEL)
        if not reason.strip():
            raise InvalidRequest("a cancellation needs a reason", field="reason")
        previous = self.status
        self._move(Status.CANCELLED)
        data: dict[str, Any] = {
            "request_id": self.id,
            "revision": self.revision,
            "reason": reason,
            "previous_status": previous.value,
            "vendor_id": self.content.vendor_id,
        }
        if cause is not None:
            data["cause"] = cause
        self._record("purchase_request.cancelled", actor, data)

    def revise(
        self, changes: Mapping[str, Any], *, today: date, actor: Actor, submitted_at: str, comment: str = ""
    ) -> list[str]:
        """A new revision after changes were requested; it is submitted again at once."""
        self._require(Action.REVISE)
        updated = with_changes(self.content, changes, today=today)
        changed = changed_fields(self.content, updated)
        previous = self.revision
        self._new_revision(updated)
        self._move(Status.SUBMITTED)
        self._record(
            "purchase_request.revised",
            actor,
            {
                "request_id": self.id,
                "revision": self.revision,
                "previous_revision": previous,
                "changed_fields": changed,
                "comment": comment,
            },
        )
        self._record("purchase_request.submitted", actor, {"request": self.snapshot(), "submitted_at": submitted_at})
        return changed

    def reassign_vendor(self, *, vendor_id: str, reason: str, actor: Actor) -> None:
        """After a decline: a new revision naming another vendor, approved already."""
        self._require(Action.REASSIGN_VENDOR)
        previous_vendor = self.content.vendor_id
        if vendor_id == previous_vendor:
            raise InvalidRequest("the request is already assigned to this vendor", field="vendor_id")
        self._new_revision(with_vendor(self.content, vendor_id))
        self._move(Status.APPROVED)
        self._record(
            "purchase_request.vendor_reassigned",
            actor,
            {"request": self.snapshot(), "previous_vendor_id": previous_vendor, "reason": reason},
        )

    def confirm_receipt(self, quantities: Mapping[int, Decimal], *, actor: Actor, note: str = "") -> bool:
        """Partial receipts are allowed; more than ordered is not. Returns whether everything is received."""
        self._require(Action.RECEIVE)
        if not quantities:
            raise InvalidRequest("a receipt names at least one line", field="lines")
        ordered = {line.line_no: line.quantity for line in self.content.lines}
        received = dict(self.received)
        for line_no, qty in quantities.items():
            where = f"line {line_no}"
            if line_no not in ordered:
                raise InvalidRequest(f"{where} does not exist in revision {self.revision}", field="lines")
            qty = money.quantity(qty, field=f"{where} quantity")
            total = received.get(line_no, Decimal(0)) + qty
            if total > ordered[line_no]:
                raise InvalidRequest(
                    f"{where}: {money.format_quantity(total)} received would exceed the "
                    f"{money.format_quantity(ordered[line_no])} ordered",
                    field="lines",
                )
            received[line_no] = total
        fully = all(received.get(n, Decimal(0)) >= q for n, q in ordered.items())
        self.received = received
        self._move(Status.RECEIVED if fully else Status.PARTIALLY_RECEIVED)
        self._record(
            "purchase_request.receipt_confirmed",
            actor,
            {
                "request_id": self.id,
                "lines": [
                    {"line_no": n, "quantity_received": money.format_quantity(q)} for n, q in sorted(quantities.items())
                ],
                "fully_received": fully,
                "note": note,
            },
        )
        return fully

    def close(self, *, short: bool, reason: str, actor: Actor) -> None:
        self._require(Action.CLOSE_SHORT if short else Action.CLOSE)
        if short and not reason.strip():
            raise InvalidRequest("closing short needs a reason", field="reason")
        self._move(Status.CLOSED)
        self._record("purchase_request.closed", actor, {"request_id": self.id, "short_closed": short, "reason": reason})

    # facts reported by other services

    def apply(self, action: Action, *, revision: int | None = None, vendor_id: str | None = None) -> list[Action]:
        """Move the state machine for an event of another service; returns the edges taken (implied ones first)."""
        if action in USER_ACTIONS:
            raise ValueError(f"{action} is a user command, not a fact")
        path = steps(self.status, action)
        if revision is not None and revision != self.revision:
            raise EventMismatch(f"the event is about revision {revision}, the request is at revision {self.revision}")
        if vendor_id is not None and vendor_id != self.content.vendor_id:
            raise EventMismatch(
                f"the event is about vendor {vendor_id}, the request's vendor is {self.content.vendor_id}"
            )
        for step in path:
            (target,) = require(self.status, step)
            self._move(target)
        return path

    # views

    def snapshot(self) -> dict[str, Any]:
        """The RequestSnapshot of docs/events.md."""
        c = self.content
        return {
            "request_id": self.id,
            "number": self.number,
            "revision": self.revision,
            "title": c.title,
            "description": c.description,
            "requester": {
                "id": self.requester.id,
                "name": self.requester.name,
                "email": self.requester.email,
                "department": self.requester.department,
            },
            "department": c.department,
            "cost_center": c.cost_center,
            "category": c.category,
            "vendor_id": c.vendor_id,
            "currency": c.currency,
            "lines": [
                {
                    "line_no": line.line_no,
                    "description": line.description,
                    "quantity": money.format_quantity(line.quantity),
                    "unit": line.unit,
                    "unit_price": str(line.unit_price),
                    "amount": str(line.amount),
                    "sku": line.sku,
                }
                for line in c.lines
            ],
            "total": str(c.total),
            "needed_by": c.needed_by.isoformat(),
        }

    # internals

    def _require(self, action: Action) -> frozenset[Status]:
        return require(self.status, action)

    def _check_needed_by(self, today: date) -> None:
        if self.content.needed_by < today:
            raise InvalidRequest(
                f"needed_by {self.content.needed_by.isoformat()} is in the past; change it first", field="needed_by"
            )

    def _move(self, status: Status) -> None:
        self.status = status
        self._bump()

    def _bump(self) -> None:
        self.version += 1

    def _new_revision(self, content: Content) -> None:
        self.content = content
        self.revision += 1
        self.new_revisions.append(self.revision)

    def _record(self, type: str, actor: Actor, data: dict[str, Any]) -> None:
        self.events.append(
            DomainEvent(type=type, data={"schema_version": 1, "actor": actor.as_dict(), **data}, actor=actor)
        )
