"""Entrypoints for other services' events: each becomes a fact applied to the request under a row lock.

Each service's topic is ordered per request, but the four topics are not ordered among themselves:
``contract.generated`` can be read before the ``vendor.accepted`` it follows when another consumer
instance is behind on the notifications topic. A fact that does not fit the current state while the
request is still open is therefore deferred (kept in ``deferred_event``) and applied as soon as a
later fact brings the request to where it fits. A fact about an older revision or another vendor is
ignored. Either way it is written to the timeline, and it never fails the consumer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backoffice_common.consumer import Handler, PermanentEventError
from backoffice_common.events import CloudEvent
from backoffice_common.uow import UnitOfWork
from backoffice_requests import timeline, vendors
from backoffice_requests.domain.errors import EventMismatch, IllegalTransition
from backoffice_requests.domain.lifecycle import Action, may_still_apply
from backoffice_requests.domain.model import Actor, PurchaseRequest
from backoffice_requests.models import approver_assignment, deferred_event
from backoffice_requests.repository import RequestRepository


@dataclass(frozen=True)
class Fact:
    action: Action
    check_revision: bool = False
    check_vendor: bool = False


FACTS: Mapping[str, Fact] = {
    "purchase_request.approved": Fact(Action.APPROVE, check_revision=True),
    "purchase_request.rejected": Fact(Action.REJECT, check_revision=True),
    "purchase_request.changes_requested": Fact(Action.REQUEST_CHANGES, check_revision=True),
    "vendor.notified": Fact(Action.NOTIFY_VENDOR, check_vendor=True),
    "vendor.accepted": Fact(Action.VENDOR_ACCEPT, check_vendor=True),
    "vendor.declined": Fact(Action.VENDOR_DECLINE, check_vendor=True),
    "contract.generated": Fact(Action.GENERATE_CONTRACT, check_vendor=True),
    "contract.executed": Fact(Action.EXECUTE_CONTRACT),
}

TIMELINE_ONLY = (
    "approval.task_assigned",
    "approval.task_decided",
    "approval.reminder_due",
    "approval.escalated",
    "approval.task_withdrawn",
    "vendor.contract_signed",
    "notification.failed",
    "contract.signed",
    "contract.expired",
    "contract.voided",
)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _request_id(event: CloudEvent) -> str:
    data = event.data
    candidate = data.get("request_id") or _dict(data.get("request")).get("request_id") or event.subject
    try:
        return str(uuid.UUID(str(candidate)))
    except ValueError:
        raise PermanentEventError(f"{event.type} names no valid request id ({candidate!r})") from None


def _revision(event: CloudEvent) -> int | None:
    value = event.data.get("revision", _dict(event.data.get("request")).get("revision"))
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _vendor_id(event: CloudEvent) -> str | None:
    data = event.data
    value = data.get("vendor_id") or _dict(data.get("vendor")).get("vendor_id")
    return str(value) if value else None


def _actor(event: CloudEvent) -> dict[str, Any]:
    data = event.data
    actor = _dict(data.get("actor"))
    if actor.get("id"):
        return actor
    decided_by = _dict(data.get("decided_by"))
    if decided_by.get("id"):
        return {"id": decided_by["id"], "name": decided_by.get("name", ""), "role": "approver"}
    service = event.source.removeprefix("backoffice/")
    return Actor(id="system", name=service, role="system").as_dict()


def _note(event: CloudEvent) -> str:
    data = event.data
    if event.type == "approval.task_assigned":
        assignee = _dict(data.get("assignee"))
        return f"waiting on {assignee.get('name') or assignee.get('id', 'an approver')} (step {data.get('step')})"
    if event.type == "approval.escalated":
        return f"escalated to {_dict(data.get('to')).get('name', '?')}: {data.get('reason', '')}"
    for key in ("comment", "reason", "error", "note"):
        if data.get(key):
            return str(data[key])
    return ""


async def _remember_approvers(event: CloudEvent, uow: UnitOfWork, request_id: str) -> None:
    """Approvers see the requests they were asked to approve (and the person they stand in for)."""
    data = event.data
    people = [data.get("assignee"), data.get("on_behalf_of"), data.get("to")]
    task_id = str(data.get("new_task_id") or data.get("task_id") or event.id)[:200]
    for person in people:
        user_id = _dict(person).get("id")
        if isinstance(user_id, str) and user_id:
            await uow.session.execute(
                pg_insert(approver_assignment)
                .values(request_id=request_id, user_id=timeline.scrub(user_id)[:200], task_id=timeline.scrub(task_id))
                .on_conflict_do_nothing(index_elements=["request_id", "user_id"])
            )


async def on_lifecycle_event(event: CloudEvent, uow: UnitOfWork) -> None:
    request_id = _request_id(event)
    repo = RequestRepository(uow.session)
    request = await repo.get(request_id, for_update=True)
    if request is None:
        await uow.set_outcome(event=event, outcome=f"ignored: unknown request {request_id}")
        return
    if event.type in ("approval.task_assigned", "approval.escalated"):
        await _remember_approvers(event, uow, request_id)
    outcome, note = "recorded", _note(event)
    fact = FACTS.get(event.type)
    if fact is not None:
        outcome, detail = _apply(request, event, fact)
        note = f"{note}; {detail}" if note and detail else (detail or note)
        if outcome == "deferred":
            await _defer(uow, request_id, event)
        await uow.set_outcome(event=event, outcome=f"{outcome}: {detail}" if detail else outcome)
    await timeline.add_entry(
        uow.session,
        request_id=request_id,
        event=event,
        actor=_actor(event),
        outcome=outcome,
        note=note,
        status_after=request.status.value,
    )
    if outcome == "applied":
        await _apply_deferred(uow, request)
        await repo.save(request, actor=_system(event))


def _apply(request: PurchaseRequest, event: CloudEvent, fact: Fact) -> tuple[str, str]:
    """("applied" | "deferred" | "ignored", what happened)."""
    try:
        path = request.apply(
            fact.action,
            revision=_revision(event) if fact.check_revision else None,
            vendor_id=_vendor_id(event) if fact.check_vendor else None,
        )
    except EventMismatch as exc:
        return "ignored", str(exc)
    except IllegalTransition as exc:
        if may_still_apply(request.status, fact.action):
            return "deferred", f"waiting for an earlier event: {exc}"
        return "ignored", str(exc)
    if len(path) > 1:
        return "applied", "implied first: " + ", ".join(step.value for step in path[:-1])
    return "applied", ""


async def _defer(uow: UnitOfWork, request_id: str, event: CloudEvent) -> None:
    await uow.session.execute(
        pg_insert(deferred_event)
        .values(
            event_id=event.id,
            request_id=request_id,
            envelope=timeline.scrub(event.model_dump(mode="json")),
            occurred_at=event.time,
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
    )


async def _apply_deferred(uow: UnitOfWork, request: PurchaseRequest) -> None:
    """Apply the deferred facts that fit now, in the order they happened, until none does."""
    progress = True
    while progress:
        progress = False
        rows = await uow.session.execute(
            select(deferred_event.c.event_id, deferred_event.c.envelope)
            .where(deferred_event.c.request_id == request.id)
            .order_by(deferred_event.c.occurred_at)
        )
        for event_id, envelope in rows.all():
            event = CloudEvent.model_validate(envelope)
            outcome, detail = _apply(request, event, FACTS[event.type])
            if outcome == "deferred":
                continue
            progress = progress or outcome == "applied"
            await uow.session.execute(delete(deferred_event).where(deferred_event.c.event_id == event_id))
            if outcome == "applied":
                await timeline.update_entry(
                    uow.session,
                    event_id=event_id,
                    outcome=outcome,
                    note="applied once the earlier event arrived",
                    status_after=request.status.value,
                )
            else:
                await timeline.update_entry(uow.session, event_id=event_id, outcome=outcome, note=detail)


def _system(event: CloudEvent) -> Actor:
    return Actor(id="system", name=event.source.removeprefix("backoffice/"), role="system")


async def on_vendor_updated(event: CloudEvent, uow: UnitOfWork) -> None:
    record = event.data
    if not isinstance(record.get("vendor_id"), str) or record.get("status") not in ("active", "blocked"):
        raise PermanentEventError("vendor.updated needs a vendor_id and a status of active or blocked")
    if "updated_at" not in record:
        record = {**record, "updated_at": event.time.isoformat()}
    try:
        await vendors.upsert(uow.session, record)
    except ValueError as exc:
        raise PermanentEventError(f"vendor.updated has an invalid updated_at: {exc}") from exc


def handlers() -> dict[str, Handler]:
    table: dict[str, Handler] = {name: on_lifecycle_event for name in (*FACTS, *TIMELINE_ONLY)}
    table["vendor.updated"] = on_vendor_updated
    return table
