"""Entrypoints for other services' events: each is read into a report and handed to one use case.

Lifecycle events of the approvals, notifications and contracts topics become a ``Report`` for
``service.facts.record_report`` (a fact applied, deferred or ignored, and a timeline entry either
way), or for ``record_entry`` if they report no fact (the same rows in one statement);
``vendor.updated`` on the compacted vendors topic feeds the vendor read model and
``cost_centre.updated`` on the compacted cost-centres topic the cost-centre read model. An event that
names no request, or a vendor record that does not fit, is permanent: it is dead-lettered at once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator

from backoffice_common.consumer import Handler, PermanentEventError
from backoffice_common.events import CloudEvent, parse_payload
from backoffice_common.uow import UnitOfWork
from backoffice_requests.domain.errors import InvalidRequest
from backoffice_requests.domain.facts import FACTS, TIMELINE_ONLY
from backoffice_requests.domain.model import Actor, Person
from backoffice_requests.service import cost_centres, facts, vendors
from backoffice_requests.service import equipment as equipment_service
from backoffice_requests.service.uow import RequestsUnitOfWork

ASSIGNING = ("approval.task_assigned", "approval.escalated")
"""Events naming people asked to approve a request: ``assignee``, ``on_behalf_of``, ``to``."""


class LifecyclePayload(BaseModel):
    """The parts of another service's lifecycle payload this service reads. Payloads differ by type and
    version, so each part is read leniently: a part of an unexpected shape counts as absent."""

    model_config = ConfigDict(extra="allow")

    request_id: Any = None
    request: Any = None
    actor: Any = None
    decided_by: Any = None
    assignee: Any = None
    on_behalf_of: Any = None
    to: Any = None
    task_id: Any = None
    new_task_id: Any = None


class VendorRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    vendor_id: StrictStr
    status: Literal["active", "blocked"]
    updated_at: str | None = None
    """When the record was last changed (the event's time if the record does not say)."""

    @field_validator("updated_at", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> str:
        return utc_timestamp(value)


class CostCentreRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    cost_center: StrictStr = Field(min_length=1, max_length=100, pattern=r"^[^\x00]+$")
    active: StrictBool
    updated_at: str | None = None

    @field_validator("updated_at", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> str:
        return utc_timestamp(value)


def utc_timestamp(value: Any) -> str:
    """ISO 8601 in UTC with microseconds, so that later records compare greater as strings."""
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="microseconds")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _request_id(event: CloudEvent, payload: LifecyclePayload) -> str:
    candidate = payload.request_id or _dict(payload.request).get("request_id") or event.subject
    try:
        return str(uuid.UUID(str(candidate)))
    except ValueError:
        raise PermanentEventError(f"{event.type} names no valid request id ({candidate!r})") from None


def _actor(event: CloudEvent, payload: LifecyclePayload) -> dict[str, Any]:
    actor = _dict(payload.actor)
    if actor.get("id"):
        return actor
    decided_by = _dict(payload.decided_by)
    if decided_by.get("id"):
        return {"id": decided_by["id"], "name": decided_by.get("name", ""), "role": "approver"}
    return Actor(id="system", name=event.source.removeprefix("backoffice/"), role="system").as_dict()


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


def _approvers(event: CloudEvent, payload: LifecyclePayload) -> list[str]:
    if event.type not in ASSIGNING:
        return []
    people = (_dict(person).get("id") for person in (payload.assignee, payload.on_behalf_of, payload.to))
    return [user_id for user_id in people if isinstance(user_id, str) and user_id]


def _buyer_signers(event: CloudEvent) -> list[str]:
    if event.type != "contract.signed" or event.data.get("party") != "buyer":
        return []
    signer_id = _dict(event.data.get("signer")).get("id")
    return [signer_id] if isinstance(signer_id, str) and signer_id else []


def _requests_uow(uow: UnitOfWork) -> RequestsUnitOfWork:
    if not isinstance(uow, RequestsUnitOfWork):
        raise TypeError(f"the requests service's handlers need a RequestsUnitOfWork, not {type(uow).__name__}")
    return uow


async def on_lifecycle_event(event: CloudEvent, uow: UnitOfWork) -> str | None:
    payload = parse_payload(LifecyclePayload, event)
    report = facts.Report(
        event=event,
        request_id=_request_id(event, payload),
        actor=_actor(event, payload),
        note=_note(event),
        approvers=_approvers(event, payload),
        buyer_signers=_buyer_signers(event),
        task_id=str(payload.new_task_id or payload.task_id or event.id)[:200],
    )
    if event.type in FACTS:
        return await facts.record_report(uow=_requests_uow(uow), report=report)
    return await facts.record_entry(uow=_requests_uow(uow), report=report)  # only the timeline: one statement


async def on_vendor_updated(event: CloudEvent, uow: UnitOfWork) -> None:
    record = parse_payload(VendorRecord, event)
    data = event.data
    if record.updated_at is None:
        data = {**data, "updated_at": event.time.isoformat()}
    await vendors.record_vendor(
        uow=_requests_uow(uow),
        vendor_id=record.vendor_id,
        status=record.status,
        record=data,
        updated_at=record.updated_at or utc_timestamp(data["updated_at"]),
    )


async def on_cost_centre_updated(event: CloudEvent, uow: UnitOfWork) -> None:
    record = parse_payload(CostCentreRecord, event)
    updated_at = record.updated_at or utc_timestamp(event.time.isoformat())
    await cost_centres.record_cost_centre(
        uow=_requests_uow(uow),
        cost_center=record.cost_center,
        active=record.active,
        record={**event.data, "updated_at": updated_at},
        updated_at=updated_at,
    )


class EquipmentLine(BaseModel):
    model_config = ConfigDict(extra="ignore")

    description: StrictStr = Field(min_length=1, max_length=500)
    quantity: Decimal = Field(gt=0)
    unit: StrictStr = Field(min_length=1, max_length=20)
    unit_price: Decimal = Field(gt=0)


class EquipmentManager(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: StrictStr = Field(min_length=1, max_length=200)
    name: str = ""
    email: str = ""


class PurchaseRequested(BaseModel):
    """``checklist.purchase_requested`` on backoffice.checklists."""

    model_config = ConfigDict(extra="ignore")

    request_id: uuid.UUID
    manager: EquipmentManager
    title: StrictStr = Field(min_length=1, max_length=200)
    lines: list[EquipmentLine] = Field(min_length=1, max_length=50)
    currency: StrictStr = Field(pattern=r"^[A-Z]{3}$")
    cost_center: StrictStr = Field(min_length=1, max_length=100)
    department: StrictStr = Field(max_length=100)
    category: StrictStr = Field(min_length=1, max_length=100)
    needed_by: date
    employee: dict[str, Any] = Field(default_factory=dict)
    checklist_id: str = ""


async def on_purchase_requested(event: CloudEvent, uow: UnitOfWork) -> str:
    """A checklist item asks for equipment: the manager gets a draft (idempotent by the id the checklist named)."""
    body = parse_payload(PurchaseRequested, event)
    employee = body.employee.get("name") or body.employee.get("id") or "a new employee"
    equipment = equipment_service.Equipment(
        request_id=str(body.request_id),
        manager=Person(body.manager.id, body.manager.name or body.manager.id, body.manager.email, body.department),
        title=body.title,
        description=f"Equipment for {employee} (checklist {body.checklist_id})",
        lines=[equipment_service.line(x.description, x.quantity, x.unit, x.unit_price) for x in body.lines],
        currency=body.currency,
        cost_center=body.cost_center,
        department=body.department,
        category=body.category,
        needed_by=body.needed_by,
    )
    try:
        request, created = await equipment_service.draft_for_manager(uow=_requests_uow(uow), equipment=equipment)
    except InvalidRequest as error:
        raise PermanentEventError(f"the equipment cannot be drafted: {error}") from error
    return f"{'drafted' if created else 'exists'}: {request.id}"


def handlers() -> dict[str, Handler]:
    table: dict[str, Handler] = {name: on_lifecycle_event for name in (*FACTS, *TIMELINE_ONLY)}
    table["checklist.purchase_requested"] = on_purchase_requested
    table["vendor.updated"] = on_vendor_updated
    table["cost_centre.updated"] = on_cost_centre_updated
    return table
