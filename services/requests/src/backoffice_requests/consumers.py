"""Entrypoints for other services' events: each becomes a fact applied to the request under a row lock.

An event that does not fit the request's state (late, duplicated, out of order, about an older
revision or another vendor) is written to the timeline as ignored; it never fails the consumer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert

from backoffice_common.consumer import Handler, PermanentEventError
from backoffice_common.events import CloudEvent
from backoffice_common.uow import UnitOfWork
from backoffice_requests import timeline, vendors
from backoffice_requests.domain.errors import EventMismatch, IllegalTransition
from backoffice_requests.domain.lifecycle import Action
from backoffice_requests.domain.model import Actor
from backoffice_requests.models import approver_assignment
from backoffice_requests.repository import RequestRepository

CONSUMER = "requests"


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
        await uow.set_outcome(consumer=CONSUMER, event=event, outcome=f"ignored: unknown request {request_id}")
        return
    if event.type in ("approval.task_assigned", "approval.escalated"):
        await _remember_approvers(event, uow, request_id)
    outcome, note = "recorded", _note(event)
    fact = FACTS.get(event.type)
    if fact is not None:
        try:
            path = request.apply(
                fact.action,
                revision=_revision(event) if fact.check_revision else None,
                vendor_id=_vendor_id(event) if fact.check_vendor else None,
            )
        except (IllegalTransition, EventMismatch) as exc:
            outcome, note = "ignored", str(exc)
            await uow.set_outcome(consumer=CONSUMER, event=event, outcome=f"ignored: {exc}")
        else:
            outcome = "applied"
            if len(path) > 1:
                implied = ", ".join(step.value for step in path[:-1])
                note = f"{note}; implied first: {implied}" if note else f"implied first: {implied}"
            await repo.save(request, actor=_system(event))
    await timeline.add_entry(
        uow.session,
        request_id=request_id,
        event=event,
        actor=_actor(event),
        outcome=outcome,
        note=note,
        status_after=request.status.value,
    )


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
