"""The write side: facts in, one request's derived rows replaced as a whole."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_insights.domain.facts import Fact, VendorFact
from backoffice_insights.domain.view import Person, RequestView, Stage
from backoffice_insights.models import (
    DERIVED_PER_REQUEST,
    approval_task,
    contract_signing,
    fact,
    failed_delivery,
    fx_rate,
    request_view,
    spend_line,
    stage_duration,
    vendor,
    vendor_answer,
)

# One round trip for the seven deletes (data-modifying CTEs): a request is refolded on every event.
_CTES = ", ".join(f"d{i} AS (DELETE FROM {t.name} WHERE request_id = :rid)" for i, t in enumerate(DERIVED_PER_REQUEST))  # noqa: S608
_DELETE_VIEW = text(f"WITH {_CTES} DELETE FROM request_view WHERE request_id = :rid")  # noqa: S608 - own table names


def _person_json(p: Person) -> dict[str, str]:
    return {"id": p.id, "name": p.name}


class FactStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_request(self, request_id: str) -> None:
        """Serialise the folds of one request: its events arrive on several topics, hence partitions."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": request_id})

    async def add(self, f: Fact) -> bool:
        stmt = (
            pg_insert(fact)
            .values(event_id=f.event_id, request_id=f.request_id, type=f.type, occurred_at=f.time, data=f.data)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(fact.c.event_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def of_request(self, request_id: str) -> list[Fact]:
        rows = await self.session.execute(select(fact).where(fact.c.request_id == request_id))
        return [Fact(r.event_id, r.type, r.occurred_at, r.request_id, r.data) for r in rows]

    async def vendor(self, vendor_id: str) -> VendorFact | None:
        row = (
            await self.session.execute(select(vendor).where(vendor.c.vendor_id == vendor_id).with_for_update())
        ).first()
        if row is None:
            return None
        return VendorFact(row.vendor_id, row.legal_name, row.status, row.updated_at, row.event_id)

    async def save_vendor(self, v: VendorFact) -> None:
        values = {"legal_name": v.legal_name, "status": v.status, "updated_at": v.time, "event_id": v.event_id}
        stmt = pg_insert(vendor).values(vendor_id=v.vendor_id, **values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["vendor_id"], set_=values))


class ViewStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace(self, v: RequestView) -> None:
        rid = v.request_id
        await self.session.execute(_DELETE_VIEW, {"rid": rid})
        await self.session.execute(insert(request_view).values(_summary(v)))
        rows: list[tuple[Any, list[dict[str, Any]]]] = [
            (stage_duration, [_stage(rid, s) for s in v.stages]),
            (approval_task, [_task(rid, t) for t in v.tasks]),
            (vendor_answer, [{"request_id": rid, **a.__dict__} for a in v.vendor_answers]),
            (contract_signing, [{"request_id": rid, **s.__dict__} for s in v.signings]),
            (spend_line, [{"request_id": rid, **s.__dict__} for s in v.spend]),
            (failed_delivery, [{"request_id": rid, **d.__dict__} for d in v.failed_deliveries]),
        ]
        for table, values in rows:
            if values:
                await self.session.execute(insert(table), values)


def _summary(v: RequestView) -> dict[str, Any]:
    waiting = v.waiting
    return {
        "request_id": v.request_id,
        "number": v.number,
        "title": v.title,
        "requester_id": v.requester.id if v.requester else "",
        "requester_name": v.requester.name if v.requester else "",
        "department": v.department,
        "cost_center": v.cost_center,
        "category": v.category,
        "vendor_id": v.vendor_id,
        "currency": v.currency,
        "total": v.total,
        "amount_band": v.amount_band,
        "status": v.status,
        "revision": v.revision,
        "changes_requested": v.changes_requested,
        "first_submitted_at": v.first_submitted_at,
        "approved_at": v.approved_at,
        "accepted_at": v.accepted_at,
        "executed_at": v.executed_at,
        "received_at": v.received_at,
        "closed_at": v.closed_at,
        "ended_at": v.ended_at,
        "last_event_at": v.last_event_at,
        "events": v.events,
        "waiting_kind": waiting.kind if waiting else None,
        "waiting_who": [_person_json(p) for p in waiting.who] if waiting else None,
        "waiting_since": waiting.since if waiting else None,
    }


def _stage(request_id: str, s: Stage) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "stage": s.name,
        "started_at": s.started_at,
        "ended_at": s.ended_at,
        "seconds": s.seconds,
    }


def _task(request_id: str, t: Any) -> dict[str, Any]:
    return {
        "task_id": t.task_id,
        "request_id": request_id,
        "step": t.step,
        "assignee_id": t.assignee.id,
        "assignee_name": t.assignee.name,
        "on_behalf_of_id": t.on_behalf_of.id if t.on_behalf_of else None,
        "on_behalf_of_name": t.on_behalf_of.name if t.on_behalf_of else None,
        "assigned_at": t.assigned_at,
        "due_at": t.due_at,
        "decided_at": t.decided_at,
        "decision": t.decision,
        "closed_at": t.closed_at,
        "closed_reason": t.closed_reason,
        "reminders": t.reminders,
        "escalated_to_id": t.escalated_to.id if t.escalated_to else None,
    }


class RateStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace_all(self, rates: list[tuple[str, date, Decimal]], *, loaded_by: str) -> None:
        await self.session.execute(delete(fx_rate))
        now = datetime.now(UTC)
        if rates:
            values = [
                {"currency": c, "valid_from": d, "rate": r, "loaded_by": loaded_by, "loaded_at": now}
                for c, d, r in rates
            ]
            await self.session.execute(insert(fx_rate), values)
