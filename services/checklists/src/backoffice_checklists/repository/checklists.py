"""Checklists and their items: loading and saving the aggregate, the HR and "my items" reads.

The command path (the employee's lock, the aggregate loaded under its row lock and saved: every item
completed, every HR event, every purchase received) is raw asyncpg on the session's connection and
transaction (``driver_connection``); the items are written in one statement over column arrays
(``unnest``), whatever their number. JSON travels as text cast to ``jsonb``; a None is stored as JSON
``null``, as SQLAlchemy's JSONB stored it. The HR pages and "my items" stay SQLAlchemy Core."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_checklists.domain.checklists import Checklist, Item
from backoffice_checklists.domain.employees import Employee
from backoffice_checklists.domain.templates import Due
from backoffice_checklists.models import checklist, checklist_item
from backoffice_common.db import driver_connection

_CHECKLIST_COLUMNS = ", ".join(c.name for c in checklist.c)
_ITEM_COLUMNS = tuple(c.name for c in checklist_item.c)
_JSON_ITEM_COLUMNS = frozenset({"depends_on", "evidence", "purchase"})
_ITEM_ARRAY_TYPES = {"position": "int[]", "due_offset_days": "int[]", "due_on": "date[]"}
_ITEM_ARRAY_TYPES |= {"access_revocation": "boolean[]", "done_at": "timestamptz[]", "overdue_at": "timestamptz[]"}

_LOCK_EMPLOYEE_SQL = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
_GET_SQL = f"SELECT {_CHECKLIST_COLUMNS} FROM checklist WHERE id = $1"  # noqa: S608
_OPEN_OF_SQL = (
    f"SELECT {_CHECKLIST_COLUMNS} FROM checklist"  # noqa: S608
    " WHERE employee_id = $1 AND kind = $2 AND status != 'cancelled'"
)
_WITH_PURCHASE_SQL = (
    f"SELECT {_CHECKLIST_COLUMNS} FROM checklist"  # noqa: S608
    " WHERE id IN (SELECT checklist_id FROM checklist_item WHERE purchase_request_id = $1) FOR UPDATE"
)
_ITEMS_SQL = (
    f"SELECT {', '.join(_ITEM_COLUMNS)} FROM checklist_item"  # noqa: S608
    " WHERE checklist_id = ANY($1::text[]) ORDER BY checklist_id, position"
)
_ADD_SQL = (
    f"INSERT INTO checklist ({_CHECKLIST_COLUMNS})"  # noqa: S608
    " VALUES ($1, $2, $3, $4::text::jsonb, $5, $6, $7, $8, $9, $10)"
)
_SAVE_SQL = "UPDATE checklist SET employee = $2::text::jsonb, status = $3, ended_at = $4, version = $5 WHERE id = $1"
_DELETE_ITEMS_SQL = "DELETE FROM checklist_item WHERE checklist_id = $1"


def _insert_items_sql() -> str:
    names = ", ".join(_ITEM_COLUMNS)
    arrays = ", ".join(f"${i}::{_ITEM_ARRAY_TYPES.get(c, 'text[]')}" for i, c in enumerate(_ITEM_COLUMNS, 1))
    values = ", ".join(f"{c}::jsonb" if c in _JSON_ITEM_COLUMNS else c for c in _ITEM_COLUMNS)
    return f"INSERT INTO checklist_item ({names}) SELECT {values} FROM unnest({arrays}) AS t({names})"  # noqa: S608


_INSERT_ITEMS_SQL = _insert_items_sql()


def employee_of(data: dict[str, Any]) -> Employee:
    return Employee(
        id=data["id"],
        name=data["name"],
        email=data.get("email") or "",
        language=data["language"],
        department=data.get("department"),
        location=data.get("location"),
        employment_type=data.get("employment_type"),
        manager_id=data.get("manager_id"),
        manager_email=data.get("manager_email") or "",
        start_date=date.fromisoformat(data["start_date"]),
        last_day=date.fromisoformat(data["last_day"]) if data.get("last_day") else None,
    )


def item_of(row: Any) -> Item:
    """From a row of ``checklist_item`` by column name (an asyncpg record, a SQLAlchemy row's ``_mapping``)."""
    return Item(
        key=row["key"],
        title=row["title"],
        responsible=row["responsible"],
        assignee_group=row["assignee_group"],
        assignee_user=row["assignee_user"],
        due=Due(row["due_anchor"], row["due_offset_days"]),
        due_on=row["due_on"],
        evidence_kind=row["evidence_kind"],
        depends_on=tuple(row["depends_on"]),
        access_revocation=row["access_revocation"],
        status=row["status"],
        evidence=row["evidence"],
        done_by=row["done_by"],
        done_at=row["done_at"],
        overdue_at=row["overdue_at"],
        escalated_to=row["escalated_to"],
        purchase=row["purchase"],
        purchase_request_id=row["purchase_request_id"],
    )


def _item_row(checklist_id: str, position: int, item: Item) -> dict[str, Any]:
    return {
        "checklist_id": checklist_id,
        "key": item.key,
        "position": position,
        "title": item.title,
        "responsible": item.responsible,
        "assignee_group": item.assignee_group,
        "assignee_user": item.assignee_user,
        "due_anchor": item.due.anchor,
        "due_offset_days": item.due.offset_days,
        "due_on": item.due_on,
        "evidence_kind": item.evidence_kind,
        "depends_on": list(item.depends_on),
        "access_revocation": item.access_revocation,
        "status": item.status,
        "evidence": item.evidence,
        "done_by": item.done_by,
        "done_at": item.done_at,
        "overdue_at": item.overdue_at,
        "escalated_to": item.escalated_to,
        "purchase": item.purchase,
        "purchase_request_id": item.purchase_request_id,
    }


class ChecklistRepository:
    def __init__(self, session: AsyncSession, track: Callable[[Any], None]) -> None:
        self.session = session
        self._track = track

    async def lock_employee(self, employee_id: str, kind: str) -> None:
        """Serialise starts of one employee's checklist of one kind (two HR events at once start one)."""
        conn = await driver_connection(self.session)
        await conn.execute(_LOCK_EMPLOYEE_SQL, f"{employee_id}/{kind}")

    async def get(self, checklist_id: str, *, lock: bool = False) -> Checklist | None:
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(_GET_SQL + " FOR UPDATE" if lock else _GET_SQL, checklist_id)
        return None if row is None else await self._load(row)

    async def open_of(self, employee_id: str, kind: str, *, lock: bool = False) -> Checklist | None:
        """The employee's running or completed checklist of ``kind`` (a cancelled one does not count)."""
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(_OPEN_OF_SQL + " FOR UPDATE" if lock else _OPEN_OF_SQL, employee_id, kind)
        return None if row is None else await self._load(row)

    async def with_purchase(self, request_id: str) -> Checklist | None:
        """The checklist (row-locked) whose item ordered the purchase request ``request_id``."""
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(_WITH_PURCHASE_SQL, request_id)
        return None if row is None else await self._load(row)

    async def of_employee(self, employee_id: str) -> list[Checklist]:
        query = select(checklist).where(checklist.c.employee_id == employee_id).order_by(checklist.c.started_at)
        return await self._load_many_core([r._mapping for r in (await self.session.execute(query)).all()])

    async def page(self, *, status: str | None, kind: str | None, limit: int, offset: int) -> list[Checklist]:
        query = select(checklist).order_by(checklist.c.started_at.desc(), checklist.c.id).limit(limit).offset(offset)
        if status is not None:
            query = query.where(checklist.c.status == status)
        if kind is not None:
            query = query.where(checklist.c.kind == kind)
        return await self._load_many_core([r._mapping for r in (await self.session.execute(query)).all()])

    async def open_items_of(self, *, user: str, groups: frozenset[str], limit: int) -> list[tuple[Any, Item]]:
        """Open items of running checklists assigned to ``user`` or a group of theirs (escalations included)."""
        mine = or_(
            checklist_item.c.assignee_user == user,
            and_(checklist_item.c.assignee_user.is_(None), checklist_item.c.assignee_group.in_(groups)),
            checklist_item.c.escalated_to.in_(groups),
        )
        query = (
            select(checklist_item, checklist.c.kind, checklist.c.employee)
            .join(checklist, checklist.c.id == checklist_item.c.checklist_id)
            .where(checklist.c.status == "running", checklist_item.c.status != "done", mine)
            .order_by(checklist_item.c.due_on, checklist_item.c.checklist_id, checklist_item.c.position)
            .limit(limit)
        )
        return [(row, item_of(row._mapping)) for row in (await self.session.execute(query)).all()]

    async def add(self, aggregate: Checklist) -> None:
        conn = await driver_connection(self.session)
        await conn.execute(
            _ADD_SQL,
            aggregate.id,
            aggregate.kind,
            aggregate.employee.id,
            json.dumps(aggregate.employee.as_dict()),
            aggregate.template_key,
            aggregate.template_version,
            aggregate.status,
            aggregate.started_at,
            aggregate.ended_at,
            1,
        )
        aggregate.version = 1
        await self._save_items(aggregate)
        self._track(aggregate)

    async def save(self, aggregate: Checklist) -> None:
        aggregate.version += 1
        conn = await driver_connection(self.session)
        await conn.execute(
            _SAVE_SQL,
            aggregate.id,
            json.dumps(aggregate.employee.as_dict()),
            aggregate.status,
            aggregate.ended_at,
            aggregate.version,
        )
        await self._save_items(aggregate)

    async def _save_items(self, aggregate: Checklist) -> None:
        rows = [_item_row(aggregate.id, n, item) for n, item in enumerate(aggregate.items)]
        conn = await driver_connection(self.session)
        await conn.execute(_DELETE_ITEMS_SQL, aggregate.id)
        if rows:
            columns = [
                [json.dumps(r[c]) for r in rows] if c in _JSON_ITEM_COLUMNS else [r[c] for r in rows]
                for c in _ITEM_COLUMNS
            ]
            await conn.execute(_INSERT_ITEMS_SQL, *columns)

    async def _load(self, row: Any) -> Checklist:
        """One checklist (an asyncpg record) with its items, raw: the command path."""
        conn = await driver_connection(self.session)
        items = [item_of(r) for r in await conn.fetch(_ITEMS_SQL, [row["id"]])]
        return self._aggregate(row, items)

    async def _load_many_core(self, rows: Sequence[Any]) -> list[Checklist]:
        """The checklists of ``rows`` (by column name) with their items: two statements for a whole page,
        not one per checklist (SQLAlchemy Core, as the HR list)."""
        if not rows:
            return []
        query = (
            select(checklist_item)
            .where(checklist_item.c.checklist_id.in_([row["id"] for row in rows]))
            .order_by(checklist_item.c.checklist_id, checklist_item.c.position)
        )
        items: dict[str, list[Item]] = {row["id"]: [] for row in rows}
        for r in (await self.session.execute(query)).all():
            items[r.checklist_id].append(item_of(r._mapping))
        return [self._aggregate(row, items[row["id"]]) for row in rows]

    def _aggregate(self, row: Any, items: list[Item]) -> Checklist:
        aggregate = Checklist(
            id=row["id"],
            kind=row["kind"],
            employee=employee_of(row["employee"]),
            template_key=row["template_key"],
            template_version=row["template_version"],
            items=items,
            status=row["status"],
            started_at=row["started_at"],
            ended_at=row["ended_at"],
            version=row["version"],
        )
        self._track(aggregate)
        return aggregate
