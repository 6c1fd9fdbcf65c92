"""``GET /admin/audit`` (a request's facts, JSON or CSV) and ``GET /admin/audit/chain`` (the whole
chain page by page, for ``backoffice audit verify``): for admins only.

``create_service_app`` installs this router for a service whose tables include the audit log. A service
that archives its log (``backoffice_common.audit_archive``) sets ``app.state.audit_archive`` to its object
store: the chain then continues into the anchored segments, read back hash-checked, so a verifier walks
archived and live rows alike from ``after_seq=0``, and ``GET /admin/audit`` returns a request's archived
facts before its live ones: it reads the anchored segments that ``audit_anchor_request`` names for that
request id (and any archived before that index existed), hash-checked, and keeps the request's rows.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.audit import csv_safe
from backoffice_common.audit_archive import ANCHOR_TABLE, REQUEST_INDEX_TABLE, decode_rows
from backoffice_common.auth import User, require_roles
from backoffice_common.objectstore import ObjectStore
from backoffice_common.openapi import problem_responses

router = APIRouter(prefix="/admin/audit", tags=["audit"])
Admin = Annotated[User, Depends(require_roles("admin"))]
CSV_COLUMNS = ("seq", "recorded_at", "service", "type", "subject", "request_id", "event_id", "time", "data", "hash")


class AuditEntryRead(BaseModel):
    seq: int
    recorded_at: str
    request_id: str | None
    content: str
    """The hashed entry, canonical JSON: service, event_id, type, source, subject, time, request_id, data."""
    prev_hash: str
    hash: str


def _table(request: Request) -> Table:
    table: Table = request.app.state.audit_table
    return table


def _read(row: Any) -> AuditEntryRead:
    return AuditEntryRead(
        seq=row.seq,
        recorded_at=row.recorded_at.isoformat(),
        request_id=row.request_id,
        content=row.content,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _csv(entries: list[AuditEntryRead]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        fact = json.loads(entry.content)
        data = json.dumps(fact.get("data"), sort_keys=True, ensure_ascii=False)
        head = [entry.seq, entry.recorded_at, fact.get("service"), fact.get("type"), fact.get("subject")]
        row = [*head, entry.request_id, fact.get("event_id"), fact.get("time"), data, entry.hash]
        writer.writerow([csv_safe(cell) if isinstance(cell, str) else cell for cell in row])
    return out.getvalue()


_STORE_PROBLEMS = problem_responses(
    502,
    503,
    s502="`document-integrity`: an archived stretch of the chain does not hash to its anchor's SHA-256",
    s503="`document-store-unavailable`: the object store holding an archived stretch did not answer",
)


@router.get("", response_model=list[AuditEntryRead], responses={200: {"content": {"text/csv": {}}}, **_STORE_PROBLEMS})
async def request_audit(
    request: Request,
    _: Admin,
    request_id: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")],
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """Every fact this service recorded about one purchase request, oldest first: those archived to the
    object store (502 when a segment fails its SHA-256, 503 when the store does not give it), then the live ones."""
    table = _table(request)
    store: ObjectStore | None = getattr(request.app.state, "audit_archive", None)
    query = select(table).where(table.c.request_id == request_id).order_by(table.c.seq)
    async with request.app.state.session_factory() as session:
        found = await session.execute(text(_ANCHORS), {"request_id": request_id}) if store is not None else None
        anchors = found.all() if found is not None else []
        live = [_read(r) for r in (await session.execute(query)).all()]
    entries: list[AuditEntryRead] = []
    if store is not None:
        for anchor in anchors:
            content = await store.get(anchor.object_key, sha256=anchor.sha256)
            entries += await asyncio.to_thread(_archived_of, content, request_id)  # off the loop: MBs of gzip
    entries += live
    if format == "csv":
        filename = f"audit-{request_id}.csv"
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        return Response(_csv(entries), media_type="text/csv; charset=utf-8", headers=headers)
    return entries


@router.get("/chain", response_model=list[AuditEntryRead], responses=_STORE_PROBLEMS)
async def chain(
    request: Request,
    _: Admin,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[AuditEntryRead]:
    """The chain after ``after_seq``, in order: verify it page by page from ``after_seq=0``. Rows that were
    archived come from their segment in the object store (502 when it fails its SHA-256, 503 when the store
    does not give it)."""
    table = _table(request)
    store: ObjectStore | None = getattr(request.app.state, "audit_archive", None)
    page: list[AuditEntryRead] = []
    async with request.app.state.session_factory() as session:
        while len(page) < limit:
            after = page[-1].seq if page else after_seq
            anchor = await _anchor_after(session, after) if store is not None else None
            if store is None or anchor is None or anchor.seq_from > after + 1:
                query = select(table).where(table.c.seq > after).order_by(table.c.seq).limit(limit - len(page))
                page += [_read(r) for r in (await session.execute(query)).all()]
                break
            rows = decode_rows(await store.get(anchor.object_key, sha256=anchor.sha256))
            found = [_archived(row) for row in rows if int(row["seq"]) > after][: limit - len(page)]
            if not found:  # a segment that does not hold what its anchor says: the verifier names the gap
                break
            page += found
    return page


# the segments holding the request's rows, and those archived before the index (all read)
_ANCHORS = (
    f"SELECT a.object_key, a.sha256 FROM {ANCHOR_TABLE} a WHERE NOT a.indexed OR EXISTS"  # noqa: S608
    f" (SELECT 1 FROM {REQUEST_INDEX_TABLE} r WHERE r.seq_to = a.seq_to AND r.request_id = :request_id)"
    " ORDER BY a.seq_to"
)


async def _anchor_after(session: AsyncSession, after_seq: int) -> Any:
    """The first anchored segment holding rows after ``after_seq``, or None."""
    statement = text(
        f"SELECT seq_from, seq_to, object_key, sha256 FROM {ANCHOR_TABLE}"  # noqa: S608
        " WHERE seq_to > :after ORDER BY seq_to LIMIT 1"
    )
    return (await session.execute(statement, {"after": after_seq})).one_or_none()


def _archived_of(content: bytes, request_id: str) -> list[AuditEntryRead]:
    return [_archived(row) for row in decode_rows(content) if row.get("request_id") == request_id]


def _archived(row: dict[str, Any]) -> AuditEntryRead:
    recorded_at = datetime.fromisoformat(str(row["recorded_at"])).isoformat()
    return AuditEntryRead.model_validate({**row, "recorded_at": recorded_at})
