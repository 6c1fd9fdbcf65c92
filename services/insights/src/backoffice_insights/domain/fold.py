"""Fold one request's facts into its view.

The view is a pure function of the *set* of facts: they are sorted by event time (lifecycle order
and event id break ties) before folding, so arrival order, redelivery and a replay from the start
all give the same view. The read model refolds a request from all its facts whenever one arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from backoffice_insights.domain.facts import Fact
from backoffice_insights.domain.stages import stages_of
from backoffice_insights.domain.values import amount_band, decimal, person, text, timestamp
from backoffice_insights.domain.view import (
    FailedDelivery,
    Person,
    RequestView,
    Signing,
    SpendLine,
    TaskView,
    VendorAnswer,
)
from backoffice_insights.domain.waiting import waiting_on

TERMINAL = frozenset({"closed", "cancelled", "rejected"})


def fold(facts: Iterable[Fact], *, bands: list[Decimal]) -> RequestView | None:
    ordered = sorted(facts, key=lambda f: f.order)
    if not ordered:
        return None
    folder = _Folder(ordered[0].request_id)
    for fact in ordered:
        folder.apply(fact)
    return folder.finish(bands)


class _Folder:
    def __init__(self, request_id: str) -> None:
        self.view = RequestView(request_id=request_id)
        self.lines: dict[int, Decimal] = {}
        self.tasks: dict[str, TaskView] = {}
        self.signings: dict[str, Signing] = {}
        self.rework: list[tuple[datetime, datetime | None]] = []
        self.status_since: datetime | None = None

    def apply(self, fact: Fact) -> None:
        view = self.view
        view.events += 1
        view.last_event_at = fact.time
        handler = _HANDLERS.get(fact.type)
        if handler is not None:
            handler(self, fact, fact.data)

    def finish(self, bands: list[Decimal]) -> RequestView:
        view = self.view
        view.amount_band = amount_band(view.total, bands)
        view.tasks = sorted(self.tasks.values(), key=lambda t: (t.assigned_at is None, t.assigned_at, t.task_id))
        view.signings = sorted(self.signings.values(), key=lambda s: s.contract_id)
        view.stages = stages_of(view, self.rework)
        view.waiting = waiting_on(view, self.status_since)
        return view

    def status(self, status: str, at: datetime) -> None:
        if self.view.status in TERMINAL and status not in TERMINAL:
            return  # a late event after the end changes nothing about the outcome
        self.view.status = status
        self.status_since = at
        if status in TERMINAL and self.view.ended_at is None:
            self.view.ended_at = at

    def snapshot(self, snap: Any) -> None:
        if not isinstance(snap, dict):
            return
        view = self.view
        view.number = text(snap.get("number")) or view.number
        view.title = text(snap.get("title")) or view.title
        view.requester = person(snap.get("requester")) or view.requester
        view.department = text(snap.get("department")) or view.department
        view.cost_center = text(snap.get("cost_center")) or view.cost_center
        view.category = text(snap.get("category")) or view.category
        view.vendor_id = text(snap.get("vendor_id")) or view.vendor_id
        view.currency = text(snap.get("currency")) or view.currency
        view.total = decimal(snap.get("total")) if snap.get("total") is not None else view.total
        if isinstance(snap.get("revision"), int):
            view.revision = max(view.revision, snap["revision"])
        lines = snap.get("lines")
        if isinstance(lines, list):
            self.lines = {
                line["line_no"]: price
                for line in lines
                if isinstance(line, dict)
                and isinstance(line.get("line_no"), int)
                and (price := decimal(line.get("unit_price"))) is not None
            }

    def ask_vendor(self, vendor_id: str, at: datetime) -> None:
        answers = self.view.vendor_answers
        answers.append(VendorAnswer(seq=len(answers) + 1, vendor_id=vendor_id, asked_at=at))

    def answer_vendor(self, vendor_id: str, answer: str, at: datetime) -> None:
        for asked in reversed(self.view.vendor_answers):
            if asked.answered_at is None and (not vendor_id or asked.vendor_id == vendor_id):
                asked.answered_at, asked.answer = at, answer
                return

    def signing(self, data: dict[str, Any]) -> Signing:
        contract_id = text(data.get("contract_id")) or "unknown"
        return self.signings.setdefault(contract_id, Signing(contract_id=contract_id))

    def spend(self, kind: str, at: datetime, amount: Decimal) -> None:
        spend = self.view.spend
        spend.append(SpendLine(len(spend) + 1, kind, at, self.view.currency, amount))


Handler = Callable[[_Folder, Fact, dict[str, Any]], None]


def _submitted(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    f.snapshot(d.get("request"))
    if f.view.first_submitted_at is None:
        f.view.first_submitted_at = fact.time
    if f.rework and f.rework[-1][1] is None:
        f.rework[-1] = (f.rework[-1][0], fact.time)
    f.status("in_approval", fact.time)


def _revised(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    if isinstance(d.get("revision"), int):
        f.view.revision = max(f.view.revision, d["revision"])


def _task_assigned(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    assignee = person(d.get("assignee")) or Person("unknown", "unknown")
    task = f.tasks.setdefault(text(d.get("task_id")), TaskView(text(d.get("task_id")), "", assignee, None))
    task.step, task.assignee, task.assigned_at = text(d.get("step")), assignee, fact.time
    task.on_behalf_of, task.due_at = person(d.get("on_behalf_of")), timestamp(d.get("due_at"))


def _task(f: _Folder, d: dict[str, Any]) -> TaskView:
    task_id = text(d.get("task_id"))
    assignee = person(d.get("assignee")) or person(d.get("from")) or Person("unknown", "unknown")
    return f.tasks.setdefault(task_id, TaskView(task_id, text(d.get("step")), assignee, None))


def _task_decided(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    task = _task(f, d)
    task.decided_at, task.decision = fact.time, text(d.get("decision"))
    task.closed_at, task.closed_reason = fact.time, "decided"


def _reminder(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    _task(f, d).reminders += 1


def _escalated(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    task = _task(f, d)
    task.escalated_to = person(d.get("to"))
    if task.closed_at is None:
        task.closed_at, task.closed_reason = fact.time, "escalated"


def _withdrawn(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    task = _task(f, d)
    if task.closed_at is None:
        task.closed_at, task.closed_reason = fact.time, "withdrawn"


def _approved(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    f.snapshot(d.get("request"))
    if f.view.approved_at is None:
        f.view.approved_at = fact.time
    f.ask_vendor(f.view.vendor_id, fact.time)
    f.status("approved", fact.time)


def _changes_requested(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    f.view.changes_requested += 1
    f.rework.append((fact.time, None))
    f.status("changes_requested", fact.time)


def _vendor_answered(answer: str) -> Handler:
    def handle(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
        if answer == "accepted":
            f.snapshot(d.get("request"))
            f.view.accepted_at = fact.time
        vendor = d.get("vendor")
        vendor_id = text(vendor.get("vendor_id")) if isinstance(vendor, dict) else text(d.get("vendor_id"))
        f.answer_vendor(vendor_id, answer, fact.time)
        f.status("accepted" if answer == "accepted" else "vendor_declined", fact.time)

    return handle


def _reassigned(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    f.snapshot(d.get("request"))
    f.ask_vendor(f.view.vendor_id, fact.time)
    f.status("approved", fact.time)


def _generated(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    signing = f.signing(d)
    signing.generated_at, signing.vendor_id = fact.time, text(d.get("vendor_id")) or f.view.vendor_id
    f.status("contracting", fact.time)


def _signed(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    signing = f.signing(d)
    party = text(d.get("party")) or "vendor"
    if party == "vendor" and signing.vendor_signed_at is None:
        signing.vendor_signed_at = fact.time
    elif party == "buyer" and signing.buyer_signed_at is None:
        signing.buyer_signed_at = fact.time


def _contract_ended(reason: str) -> Handler:
    def handle(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
        f.signing(d).ended = reason
        if f.view.status == "contracting":
            f.status("contract_" + reason, fact.time)

    return handle


def _executed(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    signing = f.signing(d)
    signing.executed_at, signing.ended = fact.time, "executed"
    f.view.executed_at = fact.time
    if f.view.total is not None:
        f.spend("committed", fact.time, f.view.total)
    f.status("executed", fact.time)


def _receipt(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    received = Decimal(0)
    for line in d.get("lines") or []:
        if isinstance(line, dict):
            quantity = decimal(line.get("quantity_received"))
            price = f.lines.get(line.get("line_no"))  # type: ignore[arg-type]
            if quantity is not None and price is not None:
                received += quantity * price
    f.spend("received", fact.time, received)
    if d.get("fully_received") is True and f.view.received_at is None:
        f.view.received_at = fact.time
        f.status("received", fact.time)


def _closed(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    f.view.closed_at = f.view.closed_at or fact.time
    f.status("closed", fact.time)


def _cancelled(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    f.status("cancelled", fact.time)


def _rejected(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    f.status("rejected", fact.time)


def _failed(f: _Folder, fact: Fact, d: dict[str, Any]) -> None:
    attempts = d.get("attempts")
    f.view.failed_deliveries.append(
        FailedDelivery(
            event_id=fact.event_id,
            channel=text(d.get("channel")),
            recipient=text(d.get("recipient")),
            template=text(d.get("template")),
            attempts=attempts if isinstance(attempts, int) else 0,
            error=text(d.get("error"))[:500],
            occurred_at=fact.time,
        )
    )


# What the fold reads of each event type's payload, and nothing more: a fact is stored as
# ``fold_fields(type, data)``, so the stored payloads hold about a quarter of the events' bytes and a
# refold from them gives the same view as from the whole events. A key mapped to ``None`` is kept
# whole, a dict is the shape of a nested object, a one-item list the shape of each element of a
# list; a value that is not of the shape's kind is kept whole (the fold ignores it, so does the copy).
# A handler that reads a new field must name it here (tests/unit/test_fold_fields.py checks this).
_PERSON: dict[str, Any] = {"id": None, "name": None}
_SNAPSHOT: dict[str, Any] = {
    "request": {
        **dict.fromkeys(("number", "title", "department", "cost_center", "category", "vendor_id", "currency")),
        **dict.fromkeys(("total", "revision")),
        "requester": _PERSON,
        "lines": [{"line_no": None, "unit_price": None}],
    }
}
_TASK: dict[str, Any] = {"task_id": None, "step": None, "assignee": _PERSON, "from": _PERSON}
_VENDOR_ANSWER: dict[str, Any] = {"vendor": {"vendor_id": None}, "vendor_id": None}
_CONTRACT: dict[str, Any] = {"contract_id": None}
FOLD_FIELDS: dict[str, dict[str, Any]] = {
    "purchase_request.submitted": _SNAPSHOT,
    "purchase_request.revised": {"revision": None},
    "approval.task_assigned": {**_TASK, "on_behalf_of": _PERSON, "due_at": None},
    "approval.task_decided": {**_TASK, "decision": None},
    "approval.reminder_due": _TASK,
    "approval.escalated": {**_TASK, "to": _PERSON},
    "approval.task_withdrawn": _TASK,
    "purchase_request.approved": _SNAPSHOT,
    "vendor.accepted": {**_SNAPSHOT, **_VENDOR_ANSWER},
    "vendor.declined": _VENDOR_ANSWER,
    "purchase_request.vendor_reassigned": _SNAPSHOT,
    "contract.generated": {**_CONTRACT, "vendor_id": None},
    "contract.signed": {**_CONTRACT, "party": None},
    "vendor.contract_signed": {**_CONTRACT, "party": None},
    "contract.expired": _CONTRACT,
    "contract.voided": _CONTRACT,
    "contract.executed": _CONTRACT,
    "purchase_request.receipt_confirmed": {
        "lines": [{"line_no": None, "quantity_received": None}],
        "fully_received": None,
    },
    "notification.failed": dict.fromkeys(("channel", "recipient", "template", "attempts", "error")),
}


def fold_fields(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The part of an event's payload the fold reads (nothing for a type it does not fold)."""
    kept: dict[str, Any] = _project(data, FOLD_FIELDS.get(event_type, {}))
    return kept


def _project(value: Any, shape: Any) -> Any:
    if shape is None:
        return value
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return value
        return {key: _project(value[key], inner) for key, inner in shape.items() if key in value}
    if isinstance(value, list):
        return [_project(item, shape[0]) for item in value]
    return value


_HANDLERS: dict[str, Handler] = {
    "purchase_request.submitted": _submitted,
    "purchase_request.revised": _revised,
    "approval.task_assigned": _task_assigned,
    "approval.task_decided": _task_decided,
    "approval.reminder_due": _reminder,
    "approval.escalated": _escalated,
    "approval.task_withdrawn": _withdrawn,
    "purchase_request.approved": _approved,
    "purchase_request.changes_requested": _changes_requested,
    "purchase_request.rejected": _rejected,
    "vendor.accepted": _vendor_answered("accepted"),
    "vendor.declined": _vendor_answered("declined"),
    "purchase_request.vendor_reassigned": _reassigned,
    "contract.generated": _generated,
    "contract.signed": _signed,
    "vendor.contract_signed": _signed,
    "contract.expired": _contract_ended("expired"),
    "contract.voided": _contract_ended("voided"),
    "contract.executed": _executed,
    "purchase_request.receipt_confirmed": _receipt,
    "purchase_request.closed": _closed,
    "purchase_request.cancelled": _cancelled,
    "notification.failed": _failed,
}
