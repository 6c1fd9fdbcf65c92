"""Read side: one request, filtered and paginated lists, revisions, diffs and the timeline."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.auth import User
from backoffice_common.problems import Problem
from backoffice_requests import timeline
from backoffice_requests.access import can_see, not_found
from backoffice_requests.domain.diff import diff_contents
from backoffice_requests.domain.lifecycle import Status, allowed_actions
from backoffice_requests.domain.money import quantize
from backoffice_requests.models import approver_assignment, purchase_request, request_revision
from backoffice_requests.schemas import (
    RequestPageRead,
    RequestRead,
    RequestSummaryRead,
    RevisionDiffRead,
    RevisionRead,
    TimelineEntryRead,
)
from backoffice_requests.serialization import content_from_json


async def _visible_row(session: AsyncSession, *, user: User, request_id: str) -> dict[str, Any]:
    row = (
        (await session.execute(select(purchase_request).where(purchase_request.c.id == request_id)))
        .mappings()
        .one_or_none()
    )
    if row is None or not await can_see(session, user=user, request_id=request_id, requester_id=row["requester_id"]):
        raise not_found(request_id)
    return dict(row)


async def request_read(session: AsyncSession, *, user: User, request_id: str) -> RequestRead:
    row = await _visible_row(session, user=user, request_id=request_id)
    revision = select(request_revision.c.content).where(
        request_revision.c.request_id == request_id, request_revision.c.revision == row["revision"]
    )
    content: dict[str, Any] = (await session.execute(revision)).scalar_one()
    received: dict[str, str] = row["received"]
    lines = [{**line, "quantity_received": received.get(str(line["line_no"]), "0")} for line in content["lines"]]
    return RequestRead.model_validate(
        {
            **content,
            "lines": lines,
            "id": row["id"],
            "number": row["number"],
            "status": row["status"],
            "revision": row["revision"],
            "version": row["version"],
            "requester": {
                "id": row["requester_id"],
                "name": row["requester_name"],
                "email": row["requester_email"],
                "department": row["requester_department"],
            },
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "allowed_actions": allowed_actions(Status(row["status"])),
        }
    )


@dataclass(frozen=True)
class RequestFilter:
    status: Status | None = None
    requester: str | None = None
    vendor_id: str | None = None
    department: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    text: str | None = None


def encode_cursor(created_at: datetime, request_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), request_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, request_id = json.loads(raw)
        return datetime.fromisoformat(created_at), str(uuid.UUID(request_id))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise Problem(400, "Bad Request", "the cursor is not one this service issued", type="bad-cursor") from None


async def list_requests(
    session: AsyncSession, *, user: User, where: RequestFilter, cursor: str | None, limit: int
) -> RequestPageRead:
    t = purchase_request
    conditions: list[Any] = []
    if not user.sees_everything:
        assigned = select(approver_assignment.c.request_id).where(approver_assignment.c.user_id == user.sub)
        conditions.append(or_(t.c.requester_id == user.sub, t.c.id.in_(assigned)))
    if where.status is not None:
        conditions.append(t.c.status == where.status.value)
    if where.requester is not None:
        conditions.append(t.c.requester_id == where.requester)
    if where.vendor_id is not None:
        conditions.append(t.c.vendor_id == where.vendor_id)
    if where.department is not None:
        conditions.append(t.c.department == where.department)
    if where.created_from is not None:
        conditions.append(t.c.created_at >= where.created_from)
    if where.created_to is not None:
        conditions.append(t.c.created_at < where.created_to)
    if where.text:
        pattern = "%" + where.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(or_(t.c.title.ilike(pattern), t.c.number.ilike(pattern)))
    if cursor is not None:
        created_at, last_id = decode_cursor(cursor)
        conditions.append(tuple_(t.c.created_at, t.c.id) < tuple_(created_at, literal(last_id, t.c.id.type)))
    stmt = select(t).where(and_(*conditions)).order_by(t.c.created_at.desc(), t.c.id.desc()).limit(limit + 1)
    rows = [dict(r) for r in (await session.execute(stmt)).mappings()]
    page, more = rows[:limit], len(rows) > limit
    items = [RequestSummaryRead.model_validate({**r, "total": _money(r["total"], r["currency"])}) for r in page]
    next_cursor = encode_cursor(page[-1]["created_at"], page[-1]["id"]) if more and page else None
    return RequestPageRead(items=items, next_cursor=next_cursor)


def _money(value: Any, currency: str) -> str:
    return str(quantize(value, currency))


async def revisions(session: AsyncSession, *, user: User, request_id: str) -> list[RevisionRead]:
    await _visible_row(session, user=user, request_id=request_id)
    rows = await session.execute(
        select(request_revision)
        .where(request_revision.c.request_id == request_id)
        .order_by(request_revision.c.revision)
    )
    return [RevisionRead.model_validate(dict(r)) for r in rows.mappings()]


async def revision_diff(
    session: AsyncSession, *, user: User, request_id: str, from_revision: int, to_revision: int
) -> RevisionDiffRead:
    await _visible_row(session, user=user, request_id=request_id)
    rows = await session.execute(
        select(request_revision.c.revision, request_revision.c.content).where(
            request_revision.c.request_id == request_id,
            request_revision.c.revision.in_([from_revision, to_revision]),
        )
    )
    contents = {r.revision: content_from_json(r.content) for r in rows}
    missing = [n for n in (from_revision, to_revision) if n not in contents]
    if missing:
        raise Problem(404, "Not Found", f"request {request_id} has no revision {missing[0]}", type="not-found")
    diff = diff_contents(contents[from_revision], contents[to_revision])
    return RevisionDiffRead(from_revision=from_revision, to_revision=to_revision, **diff)


async def timeline_of(session: AsyncSession, *, user: User, request_id: str) -> list[TimelineEntryRead]:
    await _visible_row(session, user=user, request_id=request_id)
    return [
        TimelineEntryRead.model_validate({**e, "type": e["event_type"]})
        for e in await timeline.entries(session, request_id=request_id)
    ]
