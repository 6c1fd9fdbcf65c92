"""The request's timeline: our own events (also written to the outbox) and every consumed event."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.events import CloudEvent, new_event
from backoffice_common.uow import UnitOfWork
from backoffice_requests.domain.model import PurchaseRequest
from backoffice_requests.models import timeline_entry

SERVICE = "requests"
TOPIC = "backoffice.requests"
PUBLISHED = frozenset(
    {
        "purchase_request.submitted",
        "purchase_request.revised",
        "purchase_request.vendor_reassigned",
        "purchase_request.cancelled",
        "purchase_request.receipt_confirmed",
        "purchase_request.closed",
    }
)


async def record_own_events(uow: UnitOfWork, request: PurchaseRequest) -> list[CloudEvent]:
    """Turn the aggregate's recorded events into outbox rows and timeline entries, in this transaction."""
    correlation = structlog.contextvars.get_contextvars().get("correlation_id")
    written: list[CloudEvent] = []
    for recorded in request.events:
        event = new_event(
            type=recorded.type, service=SERVICE, subject=request.id, data=recorded.data, correlation_id=correlation
        )
        if event.type in PUBLISHED:
            uow.publish(event, topic=TOPIC)
        await add_entry(
            uow.session,
            request_id=request.id,
            event=event,
            actor=recorded.actor.as_dict(),
            outcome="applied",
            note="",
            status_after=request.status.value,
        )
        written.append(event)
    request.events.clear()
    return written


def scrub(value: Any) -> Any:
    """JSON that PostgreSQL accepts: NUL characters removed (another service's payload may carry them)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


async def add_entry(
    session: AsyncSession,
    *,
    request_id: str,
    event: CloudEvent,
    actor: dict[str, Any],
    outcome: str,
    note: str,
    status_after: str,
) -> None:
    await session.execute(
        pg_insert(timeline_entry)
        .values(
            request_id=request_id,
            event_id=event.id,
            event_type=event.type,
            source=event.source,
            actor=scrub(actor),
            outcome=outcome,
            note=scrub(note)[:2000],
            status_after=status_after,
            data=scrub(event.data),
            occurred_at=event.time,
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
    )


async def entries(session: AsyncSession, *, request_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(timeline_entry).where(timeline_entry.c.request_id == request_id).order_by(timeline_entry.c.id)
    )
    return [dict(r) for r in rows.mappings()]


async def update_entry(
    session: AsyncSession, *, event_id: str, outcome: str, note: str, status_after: str | None = None
) -> None:
    """A deferred fact's entry keeps its place in the timeline and says what finally became of it."""
    values: dict[str, Any] = {"outcome": outcome, "note": scrub(note)[:2000]}
    if status_after is not None:
        values["status_after"] = status_after
    await session.execute(update(timeline_entry).where(timeline_entry.c.event_id == event_id).values(**values))
