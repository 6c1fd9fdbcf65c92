"""The checklist repository as it was before its command path moved to raw asyncpg (8b3c47d), for bench/command_cpu.py."""
# ruff: noqa

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, delete, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_checklists.domain.checklists import Checklist, Item
from backoffice_checklists.domain.employees import Employee
from backoffice_checklists.domain.templates import Due
from backoffice_checklists.models import checklist, checklist_item


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
    return Item(
        key=row.key,
        title=row.title,
        responsible=row.responsible,
        assignee_group=row.assignee_group,
        assignee_user=row.assignee_user,
        due=Due(row.due_anchor, row.due_offset_days),
        due_on=row.due_on,
        evidence_kind=row.evidence_kind,
        depends_on=tuple(row.depends_on),
        access_revocation=row.access_revocation,
        status=row.status,
        evidence=row.evidence,
        done_by=row.done_by,
        done_at=row.done_at,
        overdue_at=row.overdue_at,
        escalated_to=row.escalated_to,
        purchase=row.purchase,
        purchase_request_id=row.purchase_request_id,
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
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"{employee_id}/{kind}"}
        )

    async def get(self, checklist_id: str, *, lock: bool = False) -> Checklist | None:
        query = select(checklist).where(checklist.c.id == checklist_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else await self._load(row)

    async def open_of(self, employee_id: str, kind: str, *, lock: bool = False) -> Checklist | None:
        """The employee's running or completed checklist of ``kind`` (a cancelled one does not count)."""
        query = select(checklist).where(
            checklist.c.employee_id == employee_id, checklist.c.kind == kind, checklist.c.status != "cancelled"
        )
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else await self._load(row)

    async def with_purchase(self, request_id: str) -> Checklist | None:
        """The checklist (row-locked) whose item ordered the purchase request ``request_id``."""
        owner = select(checklist_item.c.checklist_id).where(checklist_item.c.purchase_request_id == request_id)
        query = select(checklist).where(checklist.c.id.in_(owner)).with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else await self._load(row)

    async def of_employee(self, employee_id: str) -> list[Checklist]:
        query = select(checklist).where(checklist.c.employee_id == employee_id).order_by(checklist.c.started_at)
        return await self._load_many((await self.session.execute(query)).all())

    async def page(self, *, status: str | None, kind: str | None, limit: int, offset: int) -> list[Checklist]:
        query = select(checklist).order_by(checklist.c.started_at.desc(), checklist.c.id).limit(limit).offset(offset)
        if status is not None:
            query = query.where(checklist.c.status == status)
        if kind is not None:
            query = query.where(checklist.c.kind == kind)
        return await self._load_many((await self.session.execute(query)).all())

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
        return [(row, item_of(row)) for row in (await self.session.execute(query)).all()]

    async def add(self, aggregate: Checklist) -> None:
        await self.session.execute(
            insert(checklist).values(
                id=aggregate.id,
                kind=aggregate.kind,
                employee_id=aggregate.employee.id,
                employee=aggregate.employee.as_dict(),
                template_key=aggregate.template_key,
                template_version=aggregate.template_version,
                status=aggregate.status,
                started_at=aggregate.started_at,
                ended_at=aggregate.ended_at,
                version=1,
            )
        )
        aggregate.version = 1
        await self._save_items(aggregate)
        self._track(aggregate)

    async def save(self, aggregate: Checklist) -> None:
        aggregate.version += 1
        await self.session.execute(
            checklist.update()
            .where(checklist.c.id == aggregate.id)
            .values(
                employee=aggregate.employee.as_dict(),
                status=aggregate.status,
                ended_at=aggregate.ended_at,
                version=aggregate.version,
            )
        )
        await self._save_items(aggregate)

    async def _save_items(self, aggregate: Checklist) -> None:
        rows = [_item_row(aggregate.id, n, item) for n, item in enumerate(aggregate.items)]
        await self.session.execute(delete(checklist_item).where(checklist_item.c.checklist_id == aggregate.id))
        if rows:
            await self.session.execute(insert(checklist_item), rows)

    async def _load(self, row: Any) -> Checklist:
        return (await self._load_many([row]))[0]

    async def _load_many(self, rows: Sequence[Any]) -> list[Checklist]:
        """The checklists of ``rows`` with their items: two statements for a whole page, not one per checklist."""
        if not rows:
            return []
        query = (
            select(checklist_item)
            .where(checklist_item.c.checklist_id.in_([row.id for row in rows]))
            .order_by(checklist_item.c.checklist_id, checklist_item.c.position)
        )
        items: dict[str, list[Item]] = {row.id: [] for row in rows}
        for r in (await self.session.execute(query)).all():
            items[r.checklist_id].append(item_of(r))
        return [self._aggregate(row, items[row.id]) for row in rows]

    def _aggregate(self, row: Any, items: list[Item]) -> Checklist:
        aggregate = Checklist(
            id=row.id,
            kind=row.kind,
            employee=employee_of(row.employee),
            template_key=row.template_key,
            template_version=row.template_version,
            items=items,
            status=row.status,
            started_at=row.started_at,
            ended_at=row.ended_at,
            version=row.version,
        )
        self._track(aggregate)
        return aggregate


class GroupRepositoryCore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def groups_of(self, user_id: str) -> frozenset[str]:
        from backoffice_checklists.models import group_member

        query = select(group_member.c.group).where(group_member.c.user_id == user_id)
        return frozenset((await self.session.execute(query)).scalars())
