"""Event entrypoints: every lifecycle event becomes a fact of its request (folded later by the fold job);
vendor records are kept apart."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field

from backoffice_common.consumer import Handler
from backoffice_common.events import CloudEvent, parse_payload
from backoffice_common.uow import UnitOfWork
from backoffice_insights.domain.facts import REQUEST_EVENT_TYPES, VENDOR_UPDATED, VendorFact
from backoffice_insights.repository import checklist_leads
from backoffice_insights.service.ingest import IngestUow, record_fact, record_vendor, request_fact
from backoffice_insights.service.uow import InsightsUnitOfWork


class VendorUpdated(BaseModel):
    model_config = ConfigDict(extra="ignore")

    vendor_id: str = Field(min_length=1, max_length=200)
    legal_name: str = Field(max_length=1000)
    status: str = Field(max_length=40)


class ChecklistEvent(BaseModel):
    """``checklist.started`` / ``completed`` / ``cancelled``: what a lead time needs."""

    model_config = ConfigDict(extra="ignore")

    checklist_id: str = Field(min_length=1, max_length=36)
    kind: str = Field(min_length=1, max_length=20)
    template: dict[str, Any]
    employee: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None


CHECKLIST_STATUS = {
    "checklist.started": "running",
    "checklist.completed": "completed",
    "checklist.cancelled": "cancelled",
}


async def on_checklist_event(event: CloudEvent, uow: UnitOfWork) -> str:
    """A checklist's start, completion or cancellation: its lead-time row (any order, idempotent)."""
    body = parse_payload(ChecklistEvent, event)
    status = CHECKLIST_STATUS[event.type]
    department = body.employee.get("department")
    await checklist_leads.record(
        uow.session,
        checklist_id=body.checklist_id,
        kind=body.kind,
        template_key=str(body.template.get("key", ""))[:100],
        department=str(department)[:200] if department else None,
        status=status,
        started_at=body.started_at or (event.time if status == "running" else None),
        ended_at=body.completed_at or body.cancelled_at,
    )
    return f"checklist {body.checklist_id}: {status}"


def handlers() -> dict[str, Handler]:
    async def on_request_event(event: CloudEvent, uow: UnitOfWork) -> str | None:
        if isinstance(uow, InsightsUnitOfWork) and uow.recorded(event.id):
            return None  # the claim stored the fact (``InsightsUnitOfWork.claim``)
        return await record_fact(uow=cast(IngestUow, uow), fact=request_fact(event))

    async def on_vendor_updated(event: CloudEvent, uow: UnitOfWork) -> str:
        payload = parse_payload(VendorUpdated, event)
        vendor = VendorFact(payload.vendor_id, payload.legal_name, payload.status, event.time, event.id)
        return await record_vendor(uow=cast(IngestUow, uow), vendor=vendor)

    table: dict[str, Handler] = dict.fromkeys(REQUEST_EVENT_TYPES, on_request_event)
    table[VENDOR_UPDATED] = on_vendor_updated
    table.update(dict.fromkeys(CHECKLIST_STATUS, on_checklist_event))
    return table
