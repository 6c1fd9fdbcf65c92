"""The read side's SQL: request rows, the filtered and paginated list, revisions."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import and_, literal, or_, select, tuple_, union
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.db import driver_connection
from backoffice_requests.domain.content import Content
from backoffice_requests.domain.lifecycle import Status
from backoffice_requests.domain.waiting import READS
from backoffice_requests.models import (
    approver_assignment,
    purchase_request,
    request_revision,
    timeline_archive,
    timeline_entry,
)
from backoffice_requests.repository.serialization import content_from_json


@dataclass(frozen=True)
class RequestFilter:
    status: Status | None = None
    requester: str | None = None
    vendor_id: str | None = None
    department: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    text: str | None = None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _conditions(where: RequestFilter, after: tuple[datetime, str] | None) -> list[Any]:
    t = purchase_request
    conditions: list[Any] = []
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
        pattern = _like(where.text)
        conditions.append(or_(t.c.title.ilike(pattern), t.c.number.ilike(pattern)))
    if after is not None:
        created_at, last_id = after
        conditions.append(tuple_(t.c.created_at, t.c.id) < tuple_(created_at, literal(last_id, t.c.id.type)))
    return conditions


_ROW_SQL = "SELECT {} FROM purchase_request WHERE id = $1::uuid".format(  # noqa: S608 (column names only)
    ", ".join(f"{c.name}::text AS {c.name}" if c.name == "id" else c.name for c in purchase_request.c)
)


_ENTRY_COLUMNS = tuple(c.name for c in timeline_entry.c)
_READ_SQL = (  # noqa: S608 (column names only)
    "SELECT {}, (SELECT v.content FROM request_revision v WHERE v.request_id = r.id AND v.revision = r.revision)"
    " AS read_content,"
    " EXISTS (SELECT 1 FROM approver_assignment a WHERE a.request_id = r.id AND a.user_id = $2) AS read_assigned,"
    " ARRAY (SELECT ROW ({}) FROM timeline_entry t WHERE t.request_id = r.id ORDER BY t.occurred_at, t.id)"
    " AS read_entries"
    " FROM purchase_request r WHERE r.id = $1::uuid"
).format(
    ", ".join(f"r.{c.name}::text AS {c.name}" if c.name == "id" else f"r.{c.name}" for c in purchase_request.c),
    ", ".join(f"t.{c}::text" if c == "request_id" else f"t.{c}" for c in _ENTRY_COLUMNS),
)


@dataclass(frozen=True)
class RequestSnapshot:
    """What ``GET /requests/{id}`` answers from, read in one statement (one snapshot)."""

    row: dict[str, Any]
    """As ``RequestReads.row`` gives it."""
    content: dict[str, Any] | None
    """The current revision's stored content, as ``RequestReads.content`` gives it (None: no such row)."""
    assigned: bool
    """Whether the reader is one of the request's approvers (``ApproverRepository.is_assigned``)."""
    entries: list[dict[str, Any]]
    """The live timeline, as ``TimelineRepository.entries`` gives it."""


async def request_snapshot(conn: asyncpg.Connection, request_id: str, reader: str) -> RequestSnapshot | None:
    """The request's row, its current revision's content, whether ``reader`` is assigned to approve it,
    and its timeline entries: what the unit of work's ``row``, ``is_assigned``, ``content`` and
    ``entries`` read in four statements, in ONE, so that it needs no transaction to see one state
    (``backoffice_common.db.read_connection``). The same values, column for column: the entries come
    as an array of rows in the column order of ``timeline_entry`` (jsonb decoded by the connection's
    codecs, the request id as text)."""
    record = await conn.fetchrow(_READ_SQL, request_id, reader)
    if record is None:
        return None
    row = dict(record.items())
    content, assigned, entries = row.pop("read_content"), row.pop("read_assigned"), row.pop("read_entries")
    return RequestSnapshot(row, content, assigned, [dict(zip(_ENTRY_COLUMNS, e, strict=True)) for e in entries])


def _reads_by_status() -> str:
    """``READS`` as SQL: the array of the event types ``waiting_on`` reads in the request's status (literals of
    this module's constants, not input)."""
    arms = " ".join(
        "WHEN '{}' THEN ARRAY[{}]".format(status, ", ".join(f"'{t}'" for t in types)) for status, types in READS.items()
    )
    return f"CASE r.status {arms} ELSE ARRAY[]::text[] END"


_VIEW_ENTRY_COLUMNS = ("event_type", "occurred_at", "data")
_VIEW_SQL = (  # noqa: S608 (column names and this module's constants only)
    "SELECT {}, (SELECT v.content FROM request_revision v WHERE v.request_id = r.id AND v.revision = r.revision)"
    " AS read_content,"
    " EXISTS (SELECT 1 FROM approver_assignment a WHERE a.request_id = r.id AND a.user_id = $2) AS read_assigned,"
    " (SELECT max(t.occurred_at) FROM timeline_entry t WHERE t.request_id = r.id) AS read_latest,"
    " ARRAY (SELECT ROW (t.event_type, t.occurred_at, t.data) FROM timeline_entry t WHERE t.request_id = r.id"
    " AND t.event_type = ANY ({}) ORDER BY t.occurred_at, t.id) AS read_entries"
    " FROM purchase_request r WHERE r.id = $1::uuid"
).format(
    ", ".join(f"r.{c.name}::text AS {c.name}" if c.name == "id" else f"r.{c.name}" for c in purchase_request.c),
    _reads_by_status(),
)


@dataclass(frozen=True)
class RequestView:
    """What ``GET /requests/{id}`` and a command's answer need, read in one statement: ``RequestSnapshot`` with only
    the timeline entries ``waiting_on`` reads in the request's status (``READS``)."""

    row: dict[str, Any]
    content: dict[str, Any] | None
    assigned: bool
    entries: list[dict[str, Any]]
    """The live entries of the types ``READS`` names for the row's status, oldest first: ``event_type``,
    ``occurred_at``, ``data``."""
    latest: datetime | None
    """The ``occurred_at`` of the live timeline's last entry (None: no entry)."""


async def request_view(conn: asyncpg.Connection, request_id: str, reader: str) -> RequestView | None:
    """``request_snapshot`` less what the answer does not read: the timeline's other entries and columns (every
    entry's ``data`` and ``actor`` decoded on every poll). The row, content and ``assigned`` are the same columns;
    ``entries`` filtered by ``READS`` in the statement's own snapshot of the row's status."""
    record = await conn.fetchrow(_VIEW_SQL, request_id, reader)
    if record is None:
        return None
    row = dict(record.items())
    content, assigned, latest = row.pop("read_content"), row.pop("read_assigned"), row.pop("read_latest")
    entries = [dict(zip(_VIEW_ENTRY_COLUMNS, e, strict=True)) for e in row.pop("read_entries")]
    return RequestView(row, content, assigned, entries, latest)


_TIMELINE_SQL = (  # noqa: S608 (column names only)
    "SELECT r.requester_id, r.timeline_archive_id, s.object_key, s.sha256,"
    " EXISTS (SELECT 1 FROM approver_assignment a WHERE a.request_id = r.id AND a.user_id = $2) AS read_assigned,"
    " ARRAY (SELECT ROW ({}) FROM timeline_entry t WHERE t.request_id = r.id ORDER BY t.occurred_at, t.id)"
    " AS read_entries"
    " FROM purchase_request r LEFT JOIN timeline_archive s ON s.id = r.timeline_archive_id WHERE r.id = $1::uuid"
).format(", ".join(f"t.{c}::text" if c == "request_id" else f"t.{c}" for c in _ENTRY_COLUMNS))


@dataclass(frozen=True)
class TimelineSnapshot:
    """What ``GET /requests/{id}/timeline`` answers from, read in one statement (one snapshot)."""

    requester_id: str
    assigned: bool
    segment: dict[str, str] | None
    """The archived segment's ``object_key`` and ``sha256`` (``RequestReads.timeline_segment``), None when
    the timeline was not archived."""
    entries: list[dict[str, Any]]
    """The live entries, as ``TimelineRepository.entries`` gives them."""


async def timeline_snapshot(conn: asyncpg.Connection, request_id: str, reader: str) -> TimelineSnapshot | None:
    """Who may see the request's timeline, where its archived part is and its live entries, in ONE
    statement (``request_snapshot``'s way), for ``GET /requests/{id}/timeline``."""
    record = await conn.fetchrow(_TIMELINE_SQL, request_id, reader)
    if record is None:
        return None
    segment = None
    if record["timeline_archive_id"] is not None:
        segment = {"object_key": record["object_key"], "sha256": record["sha256"]}
    entries = [dict(zip(_ENTRY_COLUMNS, e, strict=True)) for e in record["read_entries"]]
    return TimelineSnapshot(record["requester_id"], record["read_assigned"], segment, entries)


_REVISIONS_SQL = (
    "SELECT r.requester_id,"
    " EXISTS (SELECT 1 FROM approver_assignment a WHERE a.request_id = r.id AND a.user_id = $2) AS read_assigned,"
    " ARRAY (SELECT ROW (v.revision, v.created_at, v.created_by, v.content) FROM request_revision v"
    " WHERE v.request_id = r.id ORDER BY v.revision) AS read_revisions"
    " FROM purchase_request r WHERE r.id = $1::uuid"
)
_REVISION_COLUMNS = ("revision", "created_at", "created_by", "content")


@dataclass(frozen=True)
class RevisionsSnapshot:
    """What ``GET /requests/{id}/revisions`` answers from, read in one statement (one snapshot)."""

    requester_id: str
    assigned: bool
    revisions: list[dict[str, Any]]
    """Every revision, oldest first: ``revision``, ``created_at``, ``created_by``, ``content``."""


async def revisions_snapshot(conn: asyncpg.Connection, request_id: str, reader: str) -> RevisionsSnapshot | None:
    """Who may see the request and its revisions, in ONE statement (``request_snapshot``'s way), for ``GET
    /requests/{id}/revisions`` on a read connection: what ``row``, ``is_assigned`` and ``revisions`` read."""
    record = await conn.fetchrow(_REVISIONS_SQL, request_id, reader)
    if record is None:
        return None
    revisions = [dict(zip(_REVISION_COLUMNS, v, strict=True)) for v in record["read_revisions"]]
    return RevisionsSnapshot(record["requester_id"], record["read_assigned"], revisions)


_PAGE_COLUMNS = ", ".join(
    f"t.{c.name}::text AS {c.name}" if c.name == "id" else f"t.{c.name}" for c in purchase_request.c
)
_FILTERS = (
    "{t}.status = ${n}::text",
    "{t}.requester_id = ${n}::text",
    "{t}.vendor_id = ${n}::text",
    "{t}.department = ${n}::text",
    "{t}.created_at >= ${n}::timestamptz",
    "{t}.created_at < ${n}::timestamptz",
    "({t}.title ILIKE ${n}::text OR {t}.number ILIKE ${n}::text)",
)
"""``_conditions``' filters, in the order of ``RequestFilter``'s fields."""


def _filter_values(where: RequestFilter) -> list[Any]:
    """The filters' values in ``_FILTERS``' order, None for a filter not given (``_conditions``' rules)."""
    return [
        None if where.status is None else where.status.value,
        where.requester,
        where.vendor_id,
        where.department,
        where.created_from,
        where.created_to,
        _like(where.text) if where.text else None,
    ]


async def page_now(
    conn: asyncpg.Connection,
    *,
    visible_to: str | None,
    where: RequestFilter,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """``RequestReads.page`` (the reference the tests compare with) as ONE raw statement on a connection
    without a transaction (``backoffice_common.db.read_connection``): the same rows from the same plan's
    shape (each id set cut at the page size along its own index), without a unit of work or SQLAlchemy's
    compile and result layers. One statement text per filter shape (``_page_sql``)."""
    values = _filter_values(where)
    args: list[Any] = [limit] if visible_to is None else [visible_to, limit]
    if after is not None:
        args += [after[0], after[1]]
    args += [v for v in values if v is not None]
    sql = _page_sql(visible_to is not None, after is not None, tuple(v is not None for v in values))
    return [dict(r.items()) for r in await conn.fetch(sql, *args)]


@functools.lru_cache(maxsize=512)
def _page_sql(visible: bool, after: bool, given: tuple[bool, ...]) -> str:
    """The page's statement for one shape: ``$1`` the user (when the list is limited to theirs), then the
    page size, then the cursor's ``(created_at, id)``, then the filters given, in ``_FILTERS``' order."""
    n = 2 if visible else 1
    limit = f"${n}"
    n += 1
    cursor = ""
    if after:
        cursor = f"(${n}::timestamptz, ${n + 1}::uuid)"
        n += 2
    numbers: list[int] = []
    for g in given:
        numbers.append(n if g else 0)
        n += 1 if g else 0

    def filters(table: str) -> list[str]:
        return [f.format(t=table, n=k) for f, k in zip(_FILTERS, numbers, strict=True) if k]

    newest_first = "ORDER BY {t}.created_at DESC, {t}.id DESC"
    outer = f"SELECT {_PAGE_COLUMNS} FROM purchase_request t"  # noqa: S608 (column names and fixed fragments)
    if not visible:
        conditions = [*filters("t"), *([f"(t.created_at, t.id) < {cursor}"] if after else [])]
        where_sql = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return f"{outer}{where_sql} {newest_first.format(t='t')} LIMIT {limit}"
    own = " AND ".join(
        ["o.requester_id = $1::text", *filters("o"), *([f"(o.created_at, o.id) < {cursor}"] if after else [])]
    )
    assigned = " AND ".join(
        [
            "a.user_id = $1::text",
            *filters("o"),
            *([f"(a.request_created_at, a.request_id) < {cursor}"] if after else []),
        ]
    )
    return (
        f"{outer} WHERE t.id IN ("  # noqa: S608 (fixed fragments and parameters)
        f"(SELECT o.id FROM purchase_request o WHERE {own} {newest_first.format(t='o')} LIMIT {limit})"
        " UNION (SELECT o.id FROM purchase_request o JOIN approver_assignment a ON a.request_id = o.id"
        f" WHERE {assigned} ORDER BY a.request_created_at DESC, a.request_id DESC LIMIT {limit}))"
        f" {newest_first.format(t='t')} LIMIT {limit}"
    )


class RequestReads:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def row(self, request_id: str) -> dict[str, Any] | None:
        """One request's row, as ``select(purchase_request)`` maps it (the id as text). Raw asyncpg on the
        session's connection and transaction (``GET /requests/{id}`` is the hottest read): no SQLAlchemy
        compile or result layer."""
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(_ROW_SQL, request_id)
        return None if row is None else dict(row.items())

    async def timeline_segment(self, archive_id: int) -> dict[str, Any]:
        """The object key and SHA-256 of an archived timeline's segment."""
        stmt = select(timeline_archive.c.object_key, timeline_archive.c.sha256).where(
            timeline_archive.c.id == archive_id
        )
        return dict((await self.session.execute(stmt)).mappings().one())

    async def content(self, request_id: str, revision: int) -> dict[str, Any]:
        """The stored JSON content of one revision (raw asyncpg, as ``row``)."""
        conn = await driver_connection(self.session)
        content: dict[str, Any] | None = await conn.fetchval(
            "SELECT content FROM request_revision WHERE request_id = $1::uuid AND revision = $2", request_id, revision
        )
        if content is None:
            raise LookupError(f"no revision {revision} of request {request_id}")
        return content

    async def page(
        self,
        *,
        visible_to: str | None,
        where: RequestFilter,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Newest first, at most ``limit`` rows after the ``(created_at, id)`` of ``after``; ``visible_to``
        limits them to the user's own requests and those they were asked to approve (None: all). The
        reference of ``page_now``, which ``GET /requests`` runs (the tests compare the two).

        The user's list is the union of two id sets, each at most ``limit`` long: their own requests
        (along ``(requester_id, created_at DESC, id DESC)``) and those assigned to them (along
        ``approver_assignment (user_id, request_created_at DESC, request_id DESC)``). An ``OR`` of the
        two walked the whole table's ``created_at`` index and filtered it row by row."""
        t = purchase_request
        conditions = _conditions(where, after)
        newest_first = (t.c.created_at.desc(), t.c.id.desc())
        if visible_to is None:
            stmt = select(t).where(and_(*conditions)).order_by(*newest_first).limit(limit)
        else:
            own = select(t.c.id).where(t.c.requester_id == visible_to, *conditions).order_by(*newest_first).limit(limit)
            a = approver_assignment
            assigned = (
                select(t.c.id)
                .join(a, a.c.request_id == t.c.id)
                .where(a.c.user_id == visible_to, *_conditions(where, None))
                .order_by(a.c.request_created_at.desc(), a.c.request_id.desc())
                .limit(limit)
            )
            if after is not None:
                position = tuple_(literal(after[0]), literal(after[1], a.c.request_id.type))
                assigned = assigned.where(tuple_(a.c.request_created_at, a.c.request_id) < position)
            ids = union(own.subquery().select(), assigned.subquery().select()).subquery()
            stmt = select(t).where(t.c.id.in_(select(ids.c.id))).order_by(*newest_first).limit(limit)
        return [dict(r) for r in (await self.session.execute(stmt)).mappings()]

    async def revisions(self, request_id: str) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(request_revision)
            .where(request_revision.c.request_id == request_id)
            .order_by(request_revision.c.revision)
        )
        return [dict(r) for r in rows.mappings()]

    async def contents(self, request_id: str, revisions: list[int]) -> dict[int, Content]:
        rows = await self.session.execute(
            select(request_revision.c.revision, request_revision.c.content).where(
                request_revision.c.request_id == request_id,
                request_revision.c.revision.in_(revisions),
            )
        )
        return {r.revision: content_from_json(r.content) for r in rows}
