"""Read side: one request, filtered and paginated lists, revisions, diffs and the timeline."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from backoffice_common.auth import User
from backoffice_common.db import driver_connection
from backoffice_common.errors import NotFound
from backoffice_common.objectstore import ObjectMissing, ObjectStore
from backoffice_requests.domain.diff import diff_contents
from backoffice_requests.domain.lifecycle import Status, allowed_actions
from backoffice_requests.domain.money import quantize
from backoffice_requests.domain.notes import note_of, render_note
from backoffice_requests.domain.waiting import waiting_on
from backoffice_requests.repository.reads import (
    RequestFilter,
    page_now,
    request_view,
    revisions_snapshot,
    timeline_snapshot,
)
from backoffice_requests.repository.serialization import content_from_json
from backoffice_requests.repository.timeline import timeline_key
from backoffice_requests.repository.timeline_archive import ArchivedTimelineRepository
from backoffice_requests.schemas import (
    RequestPageRead,
    RequestRead,
    RequestSummaryRead,
    RevisionDiffRead,
    RevisionRead,
    TimelineEntryRead,
)
from backoffice_requests.service.access import can_see, not_found
from backoffice_requests.service.errors import BadCursor, TimelineArchived
from backoffice_requests.service.uow import RequestsUnitOfWork

__all__ = [
    "RequestFilter",
    "Timeline",
    "command_answer",
    "list_requests",
    "list_requests_now",
    "request_read",
    "request_read_now",
    "revision_diff",
    "revision_diff_now",
    "revisions",
    "revisions_now",
    "timeline_now",
    "timeline_of",
]


async def _visible_row(uow: RequestsUnitOfWork, *, user: User, request_id: str) -> dict[str, Any]:
    row = await uow.reads.row(request_id)
    if row is None or not await can_see(
        uow.approvers, user=user, request_id=request_id, requester_id=row["requester_id"]
    ):
        raise not_found(request_id)
    return row


async def request_read(uow: RequestsUnitOfWork, *, user: User, request_id: str) -> RequestRead:
    """In a unit of work (a command's answer, in its transaction)."""
    row = await _visible_row(uow, user=user, request_id=request_id)
    content = await uow.reads.content(request_id, row["revision"])
    return _request_model(row, content, await uow.timeline.entries(request_id=request_id))


async def command_answer(uow: RequestsUnitOfWork, *, user: User, request_id: str) -> RequestRead:
    """A command's answer, in its transaction: ``request_read``'s model from ONE statement (``request_snapshot``
    on the unit of work's own connection, which sees the command's changes) where ``request_read`` runs
    three or four."""
    return await request_read_now(await driver_connection(uow.session), user=user, request_id=request_id)


async def request_read_now(conn: asyncpg.Connection, *, user: User, request_id: str) -> RequestRead:
    """``GET /requests/{id}``: the same model as ``request_read``, from one statement on a connection
    without a transaction (``backoffice_common.db.read_connection``), or in a transaction (``command_answer``)."""
    view = await request_view(conn, request_id, user.sub)
    if view is None:
        raise not_found(request_id)
    row = view.row
    if not (user.sees_everything or row["requester_id"] == user.sub or view.assigned):
        raise not_found(request_id)
    if view.content is None:
        raise LookupError(f"no revision {row['revision']} of request {request_id}")
    return _request_model(row, view.content, view.entries, view.latest)


def _request_model(
    row: dict[str, Any], content: dict[str, Any], entries: list[dict[str, Any]], latest: datetime | None = None
) -> RequestRead:
    """``latest``: None when ``entries`` is the whole live timeline, else its last entry's time (``waiting_on``)."""
    received: dict[str, str] = row["received"]
    lines = [{**line, "quantity_received": received.get(str(line["line_no"]), "0")} for line in content["lines"]]
    requester = {"id": row["requester_id"], "name": row["requester_name"]}
    waiting = waiting_on(
        status=row["status"],
        requester=requester,
        vendor_id=str(content.get("vendor_id", "")),
        updated_at=row["updated_at"],
        entries=entries,
        latest=latest,
    )
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
            "waiting_on": waiting.as_dict() if waiting else None,
        }
    )


def encode_cursor(created_at: datetime, request_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), request_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, request_id = json.loads(raw)
        return datetime.fromisoformat(created_at), str(uuid.UUID(request_id))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError):
        raise BadCursor("the cursor is not one this service issued") from None


async def list_requests(
    uow: RequestsUnitOfWork, *, user: User, where: RequestFilter, cursor: str | None, limit: int
) -> RequestPageRead:
    """In a unit of work, on SQLAlchemy Core: the reference ``list_requests_now`` is compared with."""
    after = decode_cursor(cursor) if cursor is not None else None
    visible_to = None if user.sees_everything else user.sub
    rows = await uow.reads.page(visible_to=visible_to, where=where, after=after, limit=limit + 1)
    return _page(rows, limit)


async def list_requests_now(
    conn: asyncpg.Connection, *, user: User, where: RequestFilter, cursor: str | None, limit: int
) -> RequestPageRead:
    """``GET /requests``: ``list_requests``' page from one raw statement on a connection without a
    transaction (``backoffice_common.db.read_connection``)."""
    after = decode_cursor(cursor) if cursor is not None else None
    visible_to = None if user.sees_everything else user.sub
    return _page(await page_now(conn, visible_to=visible_to, where=where, after=after, limit=limit + 1), limit)


def _page(rows: list[dict[str, Any]], limit: int) -> RequestPageRead:
    page, more = rows[:limit], len(rows) > limit
    items = [RequestSummaryRead.model_validate({**r, "total": _money(r["total"], r["currency"])}) for r in page]
    next_cursor = encode_cursor(page[-1]["created_at"], page[-1]["id"]) if more and page else None
    return RequestPageRead(items=items, next_cursor=next_cursor)


def _money(value: Any, currency: str) -> str:
    return str(quantize(value, currency))


async def revisions(uow: RequestsUnitOfWork, *, user: User, request_id: str) -> list[RevisionRead]:
    await _visible_row(uow, user=user, request_id=request_id)
    return [RevisionRead.model_validate(r) for r in await uow.reads.revisions(request_id)]


async def revisions_now(conn: asyncpg.Connection, *, user: User, request_id: str) -> list[RevisionRead]:
    """``revisions`` from one statement on a connection without a transaction (``GET .../revisions``)."""
    snapshot = await revisions_snapshot(conn, request_id, user.sub)
    if snapshot is None or not (user.sees_everything or snapshot.requester_id == user.sub or snapshot.assigned):
        raise not_found(request_id)
    return [RevisionRead.model_validate(r) for r in snapshot.revisions]


async def revision_diff_now(
    conn: asyncpg.Connection, *, user: User, request_id: str, from_revision: int, to_revision: int
) -> RevisionDiffRead:
    """``revision_diff`` from one statement on a connection without a transaction (``GET .../revisions/diff``):
    the revisions of ``revisions_snapshot`` (a request has a handful), the two asked for compared."""
    snapshot = await revisions_snapshot(conn, request_id, user.sub)
    if snapshot is None or not (user.sees_everything or snapshot.requester_id == user.sub or snapshot.assigned):
        raise not_found(request_id)
    wanted = (from_revision, to_revision)
    contents = {r["revision"]: content_from_json(r["content"]) for r in snapshot.revisions if r["revision"] in wanted}
    missing = [n for n in wanted if n not in contents]
    if missing:
        raise NotFound(f"request {request_id} has no revision {missing[0]}")
    diff = diff_contents(contents[from_revision], contents[to_revision])
    return RevisionDiffRead(from_revision=from_revision, to_revision=to_revision, **diff)


async def revision_diff(
    uow: RequestsUnitOfWork, *, user: User, request_id: str, from_revision: int, to_revision: int
) -> RevisionDiffRead:
    await _visible_row(uow, user=user, request_id=request_id)
    contents = await uow.reads.contents(request_id, [from_revision, to_revision])
    missing = [n for n in (from_revision, to_revision) if n not in contents]
    if missing:
        raise NotFound(f"request {request_id} has no revision {missing[0]}")
    diff = diff_contents(contents[from_revision], contents[to_revision])
    return RevisionDiffRead(from_revision=from_revision, to_revision=to_revision, **diff)


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntryRead]
    archived: bool
    """Read back from the object store (``archive-timeline`` moved it there), not from the table."""


async def timeline_of(uow: RequestsUnitOfWork, *, user: User, request_id: str, language: str = "en") -> Timeline:
    """Every entry with its human note in ``language`` (en, de) next to the note's code and parameters;
    an archived timeline is read back from its segment (hash-checked) and reads the same."""
    row = await _visible_row(uow, user=user, request_id=request_id)
    if row["timeline_archive_id"] is None:
        return Timeline([_entry_read(e, language) for e in await uow.timeline.entries(request_id=request_id)], False)
    segment = await uow.reads.timeline_segment(row["timeline_archive_id"])
    try:
        archived = await uow.archived_timelines.entries(request_id=request_id, **segment)
    except ObjectMissing:
        raise TimelineArchived(
            f"the timeline of request {request_id} was archived to the object store, which no longer has it",
            **segment,
        ) from None
    # an event that still came after the archiving (a late contract expiry) has a live entry: it takes its
    # place by when it happened (it follows, unless it happened earlier)
    later = await uow.timeline.entries(request_id=request_id)
    return Timeline([_entry_read(e, language) for e in sorted([*archived, *later], key=timeline_key)], True)


async def timeline_now(
    conn: asyncpg.Connection,
    store: Callable[[], ObjectStore | None],
    *,
    user: User,
    request_id: str,
    language: str = "en",
) -> Timeline:
    """``timeline_of`` from one statement on a connection without a transaction (``GET .../timeline``); an
    archived timeline is read back from the object store ``store()`` gives, as ``timeline_of`` reads it."""
    snapshot = await timeline_snapshot(conn, request_id, user.sub)
    if snapshot is None or not (user.sees_everything or snapshot.requester_id == user.sub or snapshot.assigned):
        raise not_found(request_id)
    if snapshot.segment is None:
        return Timeline([_entry_read(e, language) for e in snapshot.entries], False)
    try:
        archived = await ArchivedTimelineRepository(store()).entries(request_id=request_id, **snapshot.segment)
    except ObjectMissing:
        raise TimelineArchived(
            f"the timeline of request {request_id} was archived to the object store, which no longer has it",
            **snapshot.segment,
        ) from None
    return Timeline([_entry_read(e, language) for e in sorted([*archived, *snapshot.entries], key=timeline_key)], True)


def _entry_read(entry: dict[str, Any], language: str) -> TimelineEntryRead:
    note = note_of(entry["event_type"], entry.get("data") or {})
    return TimelineEntryRead.model_validate(
        {
            **entry,
            "type": entry["event_type"],
            "note": render_note(note, language),
            "note_code": note.code,
            "note_params": note.params,
            "detail": entry.get("note") or "",
        }
    )
