"""Event entrypoints: an HR event -> its payload -> one use case.

A running onboarding of someone who leaves is cancelled (``checklist.cancelled`` with the reason).

The HR system publishes ``employee.hired``, ``employee.leaving`` and ``employee.last_day_changed``
on ``backoffice.hr`` keyed by employee id, so one employee's events arrive in order. A repeated
event is absorbed twice: by the inbox (same event id) and by the start being idempotent per
employee and kind (a second ``employee.hired`` with a new id returns the running checklist).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import cast

from pydantic import BaseModel, ConfigDict

from backoffice_checklists.schemas import Hired, LastDayChanged, Leaving
from backoffice_checklists.service import checklists as service
from backoffice_checklists.service.uow import ChecklistsUnitOfWork
from backoffice_common.consumer import Handler
from backoffice_common.errors import NotFound
from backoffice_common.events import CloudEvent, parse_payload
from backoffice_common.uow import UnitOfWork

HR_ACTOR = {"id": "hr-system", "name": "HR system", "role": "system"}
REQUESTS_ACTOR = {"id": "requests", "name": "requests", "role": "system"}


def _ours(uow: UnitOfWork, event: CloudEvent) -> ChecklistsUnitOfWork:
    ours = cast(ChecklistsUnitOfWork, uow)
    ours.attribute_to(actor=HR_ACTOR, cause=event)
    return ours


async def on_hired(event: CloudEvent, uow: UnitOfWork, *, zone: str) -> str:
    payload = parse_payload(Hired, event)
    checklist, created = await service.start(
        uow=_ours(uow, event), kind="onboarding", employee=payload.employee.domain(), zone=zone
    )
    return f"{'started' if created else 'exists'}: {checklist.id}"


async def on_leaving(event: CloudEvent, uow: UnitOfWork, *, zone: str) -> str:
    payload = parse_payload(Leaving, event)
    ours = _ours(uow, event)
    employee = replace(payload.employee.domain(), last_day=payload.last_day)
    onboarding = await ours.checklists.open_of(employee.id, "onboarding")
    if onboarding is not None and onboarding.status == "running":
        reason = f"the employee leaves (last day {payload.last_day.isoformat()})"
        await service.cancel(uow=ours, checklist_id=onboarding.id, reason=reason, user=None)
    checklist, created = await service.start(uow=ours, kind="offboarding", employee=employee, zone=zone)
    if created:
        return f"started: {checklist.id}"
    if checklist.status == "running" and checklist.employee.last_day != payload.last_day:
        moved = await service.move_last_day(uow=ours, employee_id=employee.id, last_day=payload.last_day, zone=zone)
        return f"exists: {checklist.id}, last day moved ({len(moved)} items)"
    return f"exists: {checklist.id}"


async def on_last_day_changed(event: CloudEvent, uow: UnitOfWork, *, zone: str) -> str:
    payload = parse_payload(LastDayChanged, event)
    try:
        moved = await service.move_last_day(
            uow=_ours(uow, event), employee_id=payload.employee_id, last_day=payload.last_day, zone=zone
        )
    except NotFound:
        return "ignored: no running offboarding"
    return f"moved {len(moved)} items"


class ReceiptConfirmed(BaseModel):
    model_config = ConfigDict(extra="ignore")

    request_id: str
    fully_received: bool


async def on_receipt_confirmed(event: CloudEvent, uow: UnitOfWork) -> str:
    """``purchase_request.receipt_confirmed`` (backoffice.requests): a fully received order completes the
    purchase item that asked for it; other requests' receipts are not ours."""
    payload = parse_payload(ReceiptConfirmed, event)
    if not payload.fully_received:
        return "ignored: partly received"
    ours = cast(ChecklistsUnitOfWork, uow)
    ours.attribute_to(actor=REQUESTS_ACTOR, cause=event)
    item = await service.purchase_received(uow=ours, request_id=payload.request_id)
    return f"completed: {item.key}" if item else "ignored: no open purchase item"


def handlers(*, zone: str) -> dict[str, Handler]:
    """The event types checklists handles; the settings a handler needs are bound here."""
    return {
        "purchase_request.receipt_confirmed": on_receipt_confirmed,
        "employee.hired": partial(on_hired, zone=zone),
        "employee.leaving": partial(on_leaving, zone=zone),
        "employee.last_day_changed": partial(on_last_day_changed, zone=zone),
    }
