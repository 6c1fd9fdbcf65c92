"""The write side: facts in, one request's derived rows replaced as a whole.

The consumer's fact (every event of every topic) and the fold job's statements (claim, facts, the derived
rows replaced, the queue rows removed) are raw asyncpg on the session's connection and transaction
(``driver_connection``): prepared statements, no SQLAlchemy compile or result layers. The derived rows of
a batch go in as one statement per table over column arrays (``unnest``), whatever the number of rows;
JSON travels as text cast to ``jsonb`` (a None as JSON ``null``, as SQLAlchemy's JSONB stored it)."""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, Numeric, Table, delete, insert, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import DateTime

from backoffice_common.db import (
    DRIVER_TRANSACTION,
    DriverTransaction,
    driver_connection,
    fetch_beginning,
    fetchval_beginning,
)
from backoffice_insights.domain.facts import Fact, Pending, VendorFact
from backoffice_insights.domain.fold import fold_fields
from backoffice_insights.domain.view import Person, RequestView, Stage
from backoffice_insights.models import (
    DERIVED_PER_REQUEST,
    approval_task,
    contract_signing,
    failed_delivery,
    fx_rate,
    request_view,
    spend_line,
    stage_duration,
    vendor,
    vendor_answer,
)

# One round trip for the seven deletes of a batch of requests (data-modifying CTEs).
_CTES = ", ".join(
    f"d{i} AS (DELETE FROM {t.name} WHERE request_id = ANY($1::text[]))"  # noqa: S608 - own table names
    for i, t in enumerate(DERIVED_PER_REQUEST)
)
_DELETE_VIEWS = f"WITH {_CTES} DELETE FROM request_view WHERE request_id = ANY($1::text[])"  # noqa: S608

# Store the fact and mark its request for the fold job, in one round trip. A known event id inserts
# nothing, hence marks nothing; a new fact of a request already queued bumps the queue row's version.
_RECORD = (
    "WITH f AS (INSERT INTO fact (event_id, request_id, type, occurred_at, data) "
    "VALUES ($1, $2, $3, $4, $5::text::jsonb) "
    "ON CONFLICT (event_id) DO NOTHING RETURNING request_id) "
    "INSERT INTO dirty_request (request_id) SELECT request_id FROM f "
    "ON CONFLICT (request_id) DO UPDATE SET version = dirty_request.version + 1, error = NULL "
    "RETURNING request_id"
)

# ``_RECORD`` for a batch of facts (a polled batch of a partition): the facts not known yet, and each
# of their requests marked once.
_RECORD_MANY = (
    "WITH f AS (INSERT INTO fact (event_id, request_id, type, occurred_at, data) "
    "SELECT e, r, t, o, d::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[]) "
    "AS u(e, r, t, o, d) ON CONFLICT (event_id) DO NOTHING RETURNING event_id, request_id), "
    "q AS (INSERT INTO dirty_request (request_id) SELECT DISTINCT request_id FROM f "
    "ON CONFLICT (request_id) DO UPDATE SET version = dirty_request.version + 1, error = NULL) "
    "SELECT event_id FROM f"
)

# A ``vendor.updated`` kept when newer than the record kept, by (event time, event id) as
# ``VendorFact.newer_than`` (the ids compared byte for byte, as Python compares them): one round trip.
_SAVE_VENDOR_IF_NEWER = (
    "INSERT INTO vendor (vendor_id, legal_name, status, updated_at, event_id) VALUES ($1, $2, $3, $4, $5) "
    "ON CONFLICT (vendor_id) DO UPDATE SET legal_name = excluded.legal_name, status = excluded.status, "
    "updated_at = excluded.updated_at, event_id = excluded.event_id "
    'WHERE (vendor.updated_at, vendor.event_id COLLATE "C") < (excluded.updated_at, excluded.event_id COLLATE "C") '
    "RETURNING 1"
)

# The oldest queued requests that no other fold (another replica) holds; the advisory lock is
# transaction-scoped, so it is released at the fold's commit or rollback.
_CLAIM = (
    "SELECT request_id, version FROM ("
    "SELECT request_id, version FROM dirty_request WHERE error IS NULL ORDER BY marked_at LIMIT $1) c "
    "WHERE pg_try_advisory_xact_lock(hashtextextended(c.request_id, 0))"
)
_CLAIM_ONE = text(
    "SELECT request_id, version FROM dirty_request "
    "WHERE request_id = :rid AND error IS NULL AND pg_try_advisory_xact_lock(hashtextextended(request_id, 0))"
)
_PEEK = text("SELECT request_id FROM dirty_request WHERE error IS NULL ORDER BY marked_at LIMIT :limit")
_FACTS_OF = "SELECT event_id, type, occurred_at, request_id, data FROM fact WHERE request_id = ANY($1::text[])"
# The facts and, in the same snapshot (taken after the claim's advisory locks), how many facts the stored
# view was folded from (``request_view.events``; NULL when the request has no view yet).
_FACTS_AND_STORED = (
    "SELECT f.event_id, f.type, f.occurred_at, f.request_id, f.data, v.events FROM fact f "
    "LEFT JOIN request_view v ON v.request_id = f.request_id WHERE f.request_id = ANY($1::text[])"
)
# Only the version folded is removed: a fact recorded meanwhile bumped it and is folded next time.
_DONE = (
    "DELETE FROM dirty_request d USING unnest($1::text[], $2::bigint[]) AS u(rid, v) "
    "WHERE d.request_id = u.rid AND d.version = u.v"
)
_FAILED = text("UPDATE dirty_request SET error = :error WHERE request_id = :rid AND version = :version")
_PENDING = text(
    "SELECT count(*) FILTER (WHERE error IS NULL), count(*) FILTER (WHERE error IS NOT NULL) FROM dirty_request"
)


def _array_type(column: Any) -> str:
    kind = column.type
    if isinstance(kind, BigInteger):
        return "bigint[]"
    if isinstance(kind, Integer):
        return "int[]"
    if isinstance(kind, Float):
        return "float8[]"
    if isinstance(kind, Numeric):
        return "numeric[]"
    if isinstance(kind, DateTime):
        return "timestamptz[]"
    return "text[]"  # strings, and JSONB as text (cast below)


def _insert_rows_sql(table: Table) -> tuple[str, tuple[str, ...], frozenset[str]]:
    """``INSERT INTO table (...) SELECT ... FROM unnest(column arrays)``, its column names and JSON columns."""
    names = tuple(c.name for c in table.c)
    json_columns = frozenset(c.name for c in table.c if isinstance(c.type, JSONB))
    arrays = ", ".join(f"${i}::{_array_type(c)}" for i, c in enumerate(table.c, 1))
    values = ", ".join(f"{n}::jsonb" if n in json_columns else n for n in names)
    listed = ", ".join(names)
    sql = f"INSERT INTO {table.name} ({listed}) SELECT {values} FROM unnest({arrays}) AS t({listed})"  # noqa: S608
    return sql, names, json_columns


_INSERT_ROWS = {t.name: _insert_rows_sql(t) for t in (request_view, *DERIVED_PER_REQUEST)}
VIEW_TABLES: tuple[str, ...] = tuple(t.name for t in (request_view, *DERIVED_PER_REQUEST))
"""The tables of a request's view, in the order of ``view_rows``."""

Rows = tuple[tuple[Any, ...], ...]
"""One table's rows of one request, each a tuple in the table's column order (JSON as its text)."""


def view_rows(view: RequestView) -> dict[str, Rows]:
    """The rows ``view`` is stored as, per table (``VIEW_TABLES``), exactly as they are inserted."""
    rid = view.request_id
    dicts: tuple[tuple[Table, list[dict[str, Any]]], ...] = (
        (request_view, [_summary(view)]),
        (stage_duration, [_stage(rid, s) for s in view.stages]),
        (approval_task, [_task(rid, t) for t in view.tasks]),
        (vendor_answer, [{"request_id": rid, **a.__dict__} for a in view.vendor_answers]),
        (contract_signing, [{"request_id": rid, **s.__dict__} for s in view.signings]),
        (spend_line, [{"request_id": rid, **s.__dict__} for s in view.spend]),
        (failed_delivery, [{"request_id": rid, **d.__dict__} for d in view.failed_deliveries]),
    )
    rows: dict[str, Rows] = {}
    for table, values in dicts:
        _, names, json_columns = _INSERT_ROWS[table.name]
        rows[table.name] = tuple(
            tuple(json.dumps(v[n]) if n in json_columns else v.get(n) for n in names) for v in values
        )
    return rows


@functools.lru_cache(maxsize=256)
def _delete_sql(tables: tuple[str, ...]) -> str:
    """One statement deleting the rows of ``tables`` (``$i``: the request ids of the i-th table)."""
    *others, last = tables
    ctes = ", ".join(
        f"d{i} AS (DELETE FROM {t} WHERE request_id = ANY(${i}::text[]))"  # noqa: S608 - own table names
        for i, t in enumerate(others, 1)
    )
    final = f"DELETE FROM {last} WHERE request_id = ANY(${len(tables)}::text[])"  # noqa: S608
    return f"WITH {ctes} {final}" if ctes else final


def _numbered(sql: str, offset: int) -> str:
    """``sql`` with its parameters ``$1..$n`` shifted by ``offset`` (own statements: no ``$`` elsewhere)."""
    return re.sub(r"\$(\d+)", lambda m: f"${int(m.group(1)) + offset}", sql)


@functools.lru_cache(maxsize=256)
def _insert_done_sql(tables: tuple[str, ...]) -> str:
    """One statement inserting the rows of ``tables`` (column arrays, as ``_INSERT_ROWS``) and removing the
    folded versions' queue rows (``_DONE``'s two arrays last). Different tables: no order among them."""
    ctes, offset = [], 0
    for i, t in enumerate(tables):
        sql, names, _ = _INSERT_ROWS[t]
        ctes.append(f"i{i} AS ({_numbered(sql, offset)})")
        offset += len(names)
    done = _numbered(_DONE, offset)
    return f"WITH {', '.join(ctes)} {done}" if ctes else done


@functools.lru_cache(maxsize=512)
def _write_sql(deletes: tuple[str, ...], inserts: tuple[str, ...]) -> str:
    """One statement deleting the request rows of ``deletes`` (``$i``: the request ids of the i-th), THEN inserting
    the rows of ``inserts`` (column arrays, as ``_INSERT_ROWS``), and removing the folded versions' queue rows
    (``_DONE``'s two arrays last): data-modifying CTEs. The sub-statements of one statement run in no set
    order, and a table's new rows may have its old rows' keys; so every insert is filtered on ``gate``, which
    counts every deleted row: an init plan, evaluated before the insert's first row, so no row is inserted
    before all deletes are done (a row deleted by this transaction is no longer a key conflict). The filter
    must use the count: a join with ``gate`` whose column is not used is planned away. No delete:
    ``_insert_done_sql``."""
    if not deletes:
        return _insert_done_sql(inserts)
    ctes = [
        f"d{i} AS (DELETE FROM {t} WHERE request_id = ANY(${i}::text[]) RETURNING 1)"  # noqa: S608 - own table names
        for i, t in enumerate(deletes, 1)
    ]
    counted = " + ".join(f"(SELECT count(*) FROM d{i})" for i in range(1, len(deletes) + 1))  # noqa: S608
    ctes.append(f"gate AS (SELECT {counted} AS deleted)")
    offset = len(deletes)
    for i, t in enumerate(inserts):
        sql, names, _ = _INSERT_ROWS[t]
        ctes.append(f"i{i} AS ({_numbered(sql, offset)} WHERE (SELECT deleted FROM gate) >= 0)")  # noqa: S608
        offset += len(names)
    return f"WITH {', '.join(ctes)} {_numbered(_DONE, offset)}"


def _person_json(p: Person) -> dict[str, str]:
    return {"id": p.id, "name": p.name}


class FactStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, f: Fact) -> bool:
        """Store the fact and queue its request for folding; False if the event is known already.

        Only the payload's fields the fold reads are stored (``FOLD_FIELDS``): a refold gives the same view."""
        conn = await driver_connection(self.session)
        data = json.dumps(fold_fields(f.type, f.data))
        return await conn.fetchval(_RECORD, f.event_id, f.request_id, f.type, f.time, data) is not None

    async def record_first(self, f: Fact) -> bool:
        """``record`` as the transaction's first statement: when the transaction has not begun, the
        statement begins it (``fetchval_beginning``: BEGIN and the statement, no empty statement first)."""
        data = json.dumps(fold_fields(f.type, f.data))
        args = (f.event_id, f.request_id, f.type, f.time, data)
        return await fetchval_beginning(self.session, _RECORD, *args) is not None

    async def record_alone(self, f: Fact) -> bool:
        """``record`` as a statement of its own, committed by PostgreSQL as its own transaction when the
        session's has not begun (``_on_its_own``): no BEGIN, no COMMIT. For a unit of work whose only
        change is the fact (a request event's claim): the fact and its queue mark are then the whole
        effect of the event, durable as one, and a redelivery finds the fact known as before."""
        data = json.dumps(fold_fields(f.type, f.data))
        conn = await _on_its_own(self.session)
        return await conn.fetchval(_RECORD, f.event_id, f.request_id, f.type, f.time, data) is not None

    async def record_many(self, facts: list[Fact], *, alone: bool = False) -> set[str]:
        """``record`` for several facts in one statement: the event ids of those not known before.
        ``alone``: as ``record_alone``, the statement its own transaction when none has begun."""
        if not facts:
            return set()
        unique = {f.event_id: f for f in reversed(facts)}.values()
        conn = await (_on_its_own(self.session) if alone else driver_connection(self.session))
        rows = await conn.fetch(
            _RECORD_MANY,
            [f.event_id for f in unique],
            [f.request_id for f in unique],
            [f.type for f in unique],
            [f.time for f in unique],
            [json.dumps(fold_fields(f.type, f.data)) for f in unique],
        )
        return {r["event_id"] for r in rows}

    async def save_vendor_if_newer(self, v: VendorFact) -> bool:
        """Keep ``v`` unless the vendor's record kept is as new or newer (``VendorFact.newer_than``), in one
        statement (raw asyncpg, the lock of the upsert in place of a locking read first); True if kept."""
        conn = await driver_connection(self.session)
        args = (v.vendor_id, v.legal_name, v.status, v.time, v.event_id)
        return await conn.fetchval(_SAVE_VENDOR_IF_NEWER, *args) is not None

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


async def _on_its_own(session: AsyncSession) -> Any:
    """The asyncpg connection under ``session`` as it is: outside a transaction when the session's has not
    begun (SQLAlchemy's adapter sends BEGIN only before a statement it executes itself, and COMMIT or
    ROLLBACK only for a transaction it began), so a statement run on it is committed on its own and the
    unit of work's commit then sends nothing; inside the transaction when one has begun. A unit of work's
    session (``DriverSession``): its ``DriverTransaction``'s connection, likewise not begun."""
    transaction: DriverTransaction | None = session.info.get(DRIVER_TRANSACTION)
    if transaction is not None:
        return await transaction.connection()
    connection = await session.connection()
    fairy = await connection.get_raw_connection()
    driver = fairy.driver_connection
    if driver is None:  # invalidated since it was checked out
        raise DisconnectionError("the session's connection was invalidated")
    return driver


class FoldQueue:
    """The requests to refold, claimed a batch at a time under their per-request advisory locks."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, limit: int) -> list[Pending]:
        """The claim begins the fold's transaction (``fetch_beginning``: BEGIN and the claim, no empty statement)."""
        return [Pending(r["request_id"], r["version"]) for r in await fetch_beginning(self.session, _CLAIM, limit)]

    async def claim_one(self, request_id: str) -> Pending | None:
        row = (await self.session.execute(_CLAIM_ONE, {"rid": request_id})).first()
        return Pending(row.request_id, row.version) if row is not None else None

    async def facts_of(self, request_ids: list[str]) -> dict[str, list[Fact]]:
        result: dict[str, list[Fact]] = {rid: [] for rid in request_ids}
        conn = await driver_connection(self.session)
        for r in await conn.fetch(_FACTS_OF, request_ids):
            rid = r["request_id"]
            result[rid].append(Fact(r["event_id"], r["type"], r["occurred_at"], rid, r["data"]))
        return result

    async def facts_and_stored(self, request_ids: list[str]) -> tuple[dict[str, list[Fact]], dict[str, int]]:
        """``facts_of`` and, read with them, the number of facts each stored view was folded from."""
        result: dict[str, list[Fact]] = {rid: [] for rid in request_ids}
        stored: dict[str, int] = {}
        conn = await driver_connection(self.session)
        for r in await conn.fetch(_FACTS_AND_STORED, request_ids):
            rid = r["request_id"]
            result[rid].append(Fact(r["event_id"], r["type"], r["occurred_at"], rid, r["data"]))
            if r["events"] is not None:
                stored[rid] = r["events"]
        return result, stored

    async def peek(self, limit: int) -> list[str]:
        """The oldest queued requests, without claiming them."""
        rows = await self.session.execute(_PEEK, {"limit": limit})
        return [r[0] for r in rows]

    async def done(self, pending: list[Pending]) -> None:
        conn = await driver_connection(self.session)
        await conn.execute(_DONE, [p.request_id for p in pending], [p.version for p in pending])

    async def failed(self, pending: Pending, error: str) -> None:
        params = {"rid": pending.request_id, "version": pending.version, "error": error[:2000]}
        await self.session.execute(_FAILED, params)

    async def size(self) -> tuple[int, int]:
        """(requests waiting to be folded, requests whose last fold failed)."""
        row = (await self.session.execute(_PENDING)).one()
        return int(row[0]), int(row[1])


class ViewStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace(self, request_ids: list[str], views: list[RequestView]) -> None:
        """Replace the derived rows of ``request_ids`` by ``views``: one delete, one insert per table."""
        if not request_ids:
            return
        conn = await driver_connection(self.session)
        await conn.execute(_DELETE_VIEWS, request_ids)
        if not views:
            return
        rows: list[tuple[Any, list[dict[str, Any]]]] = [
            (request_view, [_summary(v) for v in views]),
            (stage_duration, [_stage(v.request_id, s) for v in views for s in v.stages]),
            (approval_task, [_task(v.request_id, t) for v in views for t in v.tasks]),
            (vendor_answer, [{"request_id": v.request_id, **a.__dict__} for v in views for a in v.vendor_answers]),
            (contract_signing, [{"request_id": v.request_id, **s.__dict__} for v in views for s in v.signings]),
            (spend_line, [{"request_id": v.request_id, **s.__dict__} for v in views for s in v.spend]),
            (failed_delivery, [{"request_id": v.request_id, **d.__dict__} for v in views for d in v.failed_deliveries]),
        ]
        for table, values in rows:
            if values:
                sql, names, json_columns = _INSERT_ROWS[table.name]
                columns = [
                    [json.dumps(v[n]) for v in values] if n in json_columns else [v.get(n) for v in values]
                    for n in names
                ]
                await conn.execute(sql, *columns)

    async def write(
        self, deleted: dict[str, list[str]], inserted: dict[str, list[tuple[Any, ...]]], done: list[Pending]
    ) -> None:
        """Only what changed, in ONE statement: the rows of ``deleted``'s tables removed for its request ids,
        ``inserted``'s rows stored, the ``done`` queue rows removed; tables in neither are not touched. The
        fold job's writes (``service.ingest.fold_pending`` with a ``FoldCache``)."""
        conn = await driver_connection(self.session)
        deletes = tuple(t for t in VIEW_TABLES if deleted.get(t))
        inserts = tuple(t for t in VIEW_TABLES if inserted.get(t))
        args: list[Any] = [deleted[t] for t in deletes]
        for t in inserts:
            args.extend(list(column) for column in zip(*inserted[t], strict=True))
        args += [[p.request_id for p in done], [p.version for p in done]]
        await conn.execute(_write_sql(deletes, inserts), *args)


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
        # One load at a time (two would each delete, then both insert: a key conflict); readers go on.
        await self.session.execute(text("LOCK TABLE fx_rate IN SHARE ROW EXCLUSIVE MODE"))
        await self.session.execute(delete(fx_rate))
        now = datetime.now(UTC)
        if rates:
            values = [
                {"currency": c, "valid_from": d, "rate": r, "loaded_by": loaded_by, "loaded_at": now}
                for c, d, r in rates
            ]
            await self.session.execute(insert(fx_rate), values)
