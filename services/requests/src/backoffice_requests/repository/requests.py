"""Loading and saving the purchase request aggregate; every command loads it under a row lock.

``get`` and ``add`` hand the aggregate to the unit of work's ``track``, so the events it records are
collected at commit.

The command path (``next_number``, ``get``, ``add``, ``save``) is raw asyncpg on the session's own
connection and transaction (``driver_connection``): every command of a request runs it, and
SQLAlchemy's compile and result layers were most of its cost. The statements are those the Core
statements compiled to; JSON goes as text cast to ``jsonb``, serialised by ``json.dumps`` as
SQLAlchemy's JSONB type did, so the stored values are the same (``bench/command_cpu.py`` compares them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.db import driver_connection
from backoffice_requests.domain.lifecycle import Status
from backoffice_requests.domain.model import Actor, Person, PurchaseRequest
from backoffice_requests.domain.money import format_quantity
from backoffice_requests.models import purchase_request
from backoffice_requests.repository.serialization import content_from_json, content_to_json

_ROW_COLUMNS = (
    "number",
    "requester_id",
    "requester_name",
    "requester_email",
    "requester_department",
    "status",
    "revision",
    "version",
    "title",
    "vendor_id",
    "department",
    "currency",
    "total",
    "received",
)
"""The columns ``_row`` writes, in the order of the statements' parameters ``$2`` on (``$1`` is the id)."""

_PARAMS = ", ".join(f"${i}::jsonb" if c == "received" else f"${i}" for i, c in enumerate(_ROW_COLUMNS, 2))
_NEXT_NUMBER_SQL = "SELECT nextval('purchase_request_number_seq')"
_GET_SQL = (
    "SELECT id::text AS id, number, requester_id, requester_name, requester_email, requester_department, status,"
    " revision, version, received FROM purchase_request WHERE id = $1::uuid"
)
_GET_FOR_UPDATE_SQL = _GET_SQL + " FOR UPDATE"
_CONTENT_SQL = "SELECT content FROM request_revision WHERE request_id = $1::uuid AND revision = $2"
_GET_WITH_CONTENT_SQL = (
    "SELECT p.id::text AS id, p.number, p.requester_id, p.requester_name, p.requester_email,"
    " p.requester_department, p.status, p.revision, p.version, p.received, r.content,"
    " p.xmin = (SELECT q.xmin FROM purchase_request q WHERE q.id = $1::uuid) AS unchanged"
    " FROM purchase_request p LEFT JOIN request_revision r ON r.request_id = p.id AND r.revision = p.revision"
    " WHERE p.id = $1::uuid"
)
_GET_WITH_CONTENT_FOR_UPDATE_SQL = _GET_WITH_CONTENT_SQL + " FOR UPDATE OF p"
_STATUS_FOR_UPDATE_SQL = "SELECT status FROM purchase_request WHERE id = $1::uuid FOR UPDATE"
_INSERT_SQL = f"INSERT INTO purchase_request (id, {', '.join(_ROW_COLUMNS)}) VALUES ($1::uuid, {_PARAMS})"  # noqa: S608


def update_sql(first: int) -> str:
    """The request's ``UPDATE`` (``save``), the row's values numbered from ``$first`` on (``$1`` is the id): to be
    a part of another statement, after that statement's own parameters."""
    return "UPDATE purchase_request SET {}, updated_at = now() WHERE id = $1::uuid".format(  # noqa: S608
        ", ".join(f"{c} = ${i}::jsonb" if c == "received" else f"{c} = ${i}" for i, c in enumerate(_ROW_COLUMNS, first))
    )


_UPDATE_SQL = update_sql(2)
_UPDATE_REVISION_SQL = (
    "UPDATE request_revision SET content = $3::jsonb, created_by = $4::jsonb WHERE request_id = $1::uuid"
    " AND revision = $2"
)
_INSERT_REVISION_SQL = (
    "INSERT INTO request_revision (request_id, revision, content, created_by)"
    " VALUES ($1::uuid, $2, $3::jsonb, $4::jsonb)"
)


class RequestRepository:
    def __init__(self, session: AsyncSession, *, track: Callable[[Any], None] = lambda _: None) -> None:
        self.session = session
        self._track = track

    async def next_number(self) -> str:
        conn = await driver_connection(self.session)
        value = await conn.fetchval(_NEXT_NUMBER_SQL)
        return f"PR-{int(value or 0):06d}"

    async def get(self, request_id: str, *, for_update: bool = False) -> PurchaseRequest | None:
        """The request at its current revision; ``for_update`` serialises writers of one request.

        One statement: the row (locked) joined to its revision's content, and whether the row returned is the
        version of the statement's snapshot (``unchanged``: its ``xmin`` against the snapshot's, read by an
        uncorrelated subquery, evaluated once with the snapshot). A writer that committed while this one
        waited for the lock makes PostgreSQL re-check the locked row's newest version against the join's row
        of the older snapshot: a new revision's content is then missing (NULL), and a draft's content edited
        in place would be the old one. Every write of a revision's content updates the request's row in the
        same transaction (``add``, ``save``), so a row that is not the snapshot's is the one case where the
        content may be stale: it is then read again in a statement of its own (``_CONTENT_SQL``: a newer
        snapshot), as the second of the two statements before did (``_GET_FOR_UPDATE_SQL`` then ``_CONTENT_SQL``:
        the reference ``tests/integration/test_locked_read.py`` and ``bench/round8_cpu.py`` compare with)."""
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(_GET_WITH_CONTENT_FOR_UPDATE_SQL if for_update else _GET_WITH_CONTENT_SQL, request_id)
        if row is None:
            return None
        content: dict[str, Any] | None = row["content"]
        if content is None or not row["unchanged"]:
            content = await conn.fetchval(_CONTENT_SQL, request_id, row["revision"])
        request = PurchaseRequest(
            id=row["id"],
            number=row["number"],
            requester=Person(
                row["requester_id"], row["requester_name"], row["requester_email"], row["requester_department"]
            ),
            status=Status(row["status"]),
            revision=row["revision"],
            content=content_from_json(content),
            version=row["version"],
            received={int(k): Decimal(v) for k, v in row["received"].items()},
        )
        self._track(request)
        return request

    async def status_for_update(self, request_id: str) -> str | None:
        """The request's status under the row lock ``get(for_update=True)`` takes (None: no such request), for a
        consumed event that only writes the timeline (``service.facts.record_report``): the status the entry records,
        in the same order among the request's writers, without the revision's content or the aggregate. A writer
        that committed while this one waited for the lock: PostgreSQL returns the locked row's newest status, as
        ``get`` does."""
        conn = await driver_connection(self.session)
        status: str | None = await conn.fetchval(_STATUS_FOR_UPDATE_SQL, request_id)
        return status

    async def ids_of_vendor(self, vendor_id: str, *, statuses: Iterable[str]) -> list[str]:
        """The ids of ``vendor_id``'s requests in one of ``statuses``, oldest first."""
        rows = await self.session.execute(
            select(purchase_request.c.id)
            .where(purchase_request.c.vendor_id == vendor_id, purchase_request.c.status.in_(list(statuses)))
            .order_by(purchase_request.c.created_at, purchase_request.c.id)
        )
        return [str(request_id) for request_id in rows.scalars().all()]

    async def add(self, request: PurchaseRequest, *, actor: Actor) -> None:
        conn = await driver_connection(self.session)
        await conn.execute(_INSERT_SQL, request.id, *self._row(request))
        await self._insert_revisions(request, actor)
        self._track(request)

    async def save(self, request: PurchaseRequest, *, actor: Actor) -> None:
        conn = await driver_connection(self.session)
        await conn.execute(_UPDATE_SQL, request.id, *self._row(request))
        await self._insert_revisions(request, actor)

    @staticmethod
    def plain_update(request: PurchaseRequest) -> tuple[Any, ...] | None:
        """The values of ``update_sql`` that save ``request`` if saving it writes nothing else (no revision's
        content: a fact applied), else None (``save`` it)."""
        if request.draft_edited or request.new_revisions:
            return None
        return RequestRepository._row(request)

    async def _insert_revisions(self, request: PurchaseRequest, actor: Actor) -> None:
        if not (request.draft_edited or request.new_revisions):
            return
        conn = await driver_connection(self.session)
        content, created_by = json.dumps(content_to_json(request.content)), json.dumps(actor.as_dict())
        if request.draft_edited and not request.new_revisions:
            await conn.execute(_UPDATE_REVISION_SQL, request.id, request.revision, content, created_by)
            request.draft_edited = False
        if request.new_revisions:
            # Only the current revision's content is held by the aggregate; earlier new ones were superseded.
            await conn.execute(_INSERT_REVISION_SQL, request.id, request.revision, content, created_by)
            request.new_revisions.clear()

    @staticmethod
    def _row(request: PurchaseRequest) -> tuple[Any, ...]:
        """The values of ``_ROW_COLUMNS``, in order."""
        c = request.content
        received = {str(k): format_quantity(v) for k, v in request.received.items()}
        return (
            request.number,
            request.requester.id,
            request.requester.name,
            request.requester.email,
            request.requester.department,
            request.status.value,
            request.revision,
            request.version,
            c.title,
            c.vendor_id,
            c.department,
            c.currency,
            c.total,
            json.dumps(received),
        )
