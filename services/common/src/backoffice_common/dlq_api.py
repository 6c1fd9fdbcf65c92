"""``GET /admin/dlq`` and ``POST /admin/dlq/redrive``: every service's dead letters, for admins only.

``create_service_app`` installs this router and puts the service's ``DeadLetterDesk`` in
``app.state.dead_letters``; the same desk serves ``python -m backoffice_<svc> dlq``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from backoffice_common.auth import User, require_roles
from backoffice_common.dlq import DeadLetter, DeadLetterDesk, RecordRef
from backoffice_common.problems import Problem

Admin = Annotated[User, Depends(require_roles("admin"))]


class DeadLetterPosition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: str = Field(min_length=1, max_length=249, description="the dead-letter topic")
    partition: int = Field(ge=0, le=100_000)
    offset: int = Field(ge=0, le=2**62)


class DeadLetterRead(DeadLetterPosition):
    key: str | None
    dead_lettered_at: datetime
    original_topic: str
    original_partition: int | None
    original_offset: int | None
    consumer: str
    error: str
    attempts: int | None
    event_id: str | None = Field(description="null when the record was not a CloudEvent at all")
    event_type: str | None
    subject: str | None
    redriven_at: datetime | None
    redriven_by: str | None


class DeadLetterList(BaseModel):
    consumer: str
    topics: list[str]
    items: list[DeadLetterRead]


class RedriveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: list[DeadLetterPosition] = Field(default_factory=list, max_length=500)
    event_ids: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _something_chosen(self) -> RedriveRequest:
        if not self.records and not self.event_ids:
            raise ValueError("name the dead letters to redrive in 'records' or 'event_ids'")
        return self


class RedriveItem(DeadLetterPosition):
    event_id: str | None
    outcome: str = Field(description="'redriven', or 'already_redriven' (nothing published again)")
    republished_to: str | None
    republished_offset: int | None


class RedriveResult(BaseModel):
    items: list[RedriveItem]
    not_found: list[str] = Field(description="chosen positions (topic:partition:offset) and event ids not found")


def read_model(d: DeadLetter) -> DeadLetterRead:
    h = d.headers
    return DeadLetterRead(
        topic=d.ref.topic,
        partition=d.ref.partition,
        offset=d.ref.offset,
        key=d.key,
        dead_lettered_at=d.dead_lettered_at,
        original_topic=d.original_topic,
        original_partition=_int(h.get("dlq-original-partition")),
        original_offset=_int(h.get("dlq-original-offset")),
        consumer=h.get("dlq-consumer", ""),
        error=h.get("dlq-error", ""),
        attempts=_int(h.get("dlq-attempts")),
        event_id=d.event.id if d.event else None,
        event_type=d.event.type if d.event else None,
        subject=d.event.subject if d.event else None,
        redriven_at=d.redriven_at,
        redriven_by=d.redriven_by,
    )


router = APIRouter(prefix="/admin/dlq", tags=["admin: dead letters"])


@router.get("", response_model=DeadLetterList)
async def list_dead_letters(
    request: Request,
    user: Admin,
    include_redriven: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeadLetterList:
    """The records this service's consumer dead-lettered (newest ``limit``), with their ``dlq-*`` headers."""
    desk: DeadLetterDesk = request.app.state.dead_letters
    letters = await _kafka(desk.letters(include_redriven=include_redriven))
    return DeadLetterList(
        consumer=desk.consumer, topics=desk.dlq_topics, items=[read_model(d) for d in letters[-limit:]]
    )


@router.post("/redrive", response_model=RedriveResult)
async def redrive_dead_letters(body: RedriveRequest, request: Request, user: Admin) -> RedriveResult:
    """Re-publish the chosen dead letters to their original topic; ones already redriven are not published again."""
    desk: DeadLetterDesk = request.app.state.dead_letters
    unknown = sorted({r.topic for r in body.records} - set(desk.dlq_topics))
    if unknown:
        raise Problem(
            422,
            "Unprocessable Content",
            f"not a dead-letter topic of this service: {', '.join(unknown)} (its topics: {', '.join(desk.dlq_topics)})",
            type="validation-error",
        )
    refs = [RecordRef(r.topic, r.partition, r.offset) for r in body.records]
    outcomes = await _kafka(desk.redrive(refs=refs, event_ids=body.event_ids, by=user.sub))
    found_refs = {o.ref for o in outcomes}
    found_ids = {o.event_id for o in outcomes}
    missing = [f"{r.topic}:{r.partition}:{r.offset}" for r in refs if r not in found_refs]
    missing += [i for i in body.event_ids if i not in found_ids]
    items = [
        RedriveItem(
            topic=o.ref.topic,
            partition=o.ref.partition,
            offset=o.ref.offset,
            event_id=o.event_id,
            outcome=o.outcome,
            republished_to=o.republished_to,
            republished_offset=o.republished_offset,
        )
        for o in outcomes
    ]
    return RedriveResult(items=items, not_found=missing)


async def _kafka(work: Any) -> Any:
    try:
        return await asyncio.wait_for(work, timeout=60)
    except (KafkaError, TimeoutError, OSError) as exc:
        raise Problem(
            503, "Service Unavailable", f"Kafka could not be read or written: {exc!r}", type="kafka-unavailable"
        ) from exc


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
