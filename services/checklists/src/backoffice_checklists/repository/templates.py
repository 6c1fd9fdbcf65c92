"""Template versions: stored as JSON items, read back as domain templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_checklists.domain.templates import Template, TemplateItem
from backoffice_checklists.models import checklist_template


def items_json(template: Template) -> list[dict[str, Any]]:
    return [item.as_dict() for item in template.items]


def template_of(row: Any) -> Template:
    return Template(
        row.key, row.kind, row.language, row.version, row.title, tuple(TemplateItem.from_dict(i) for i in row.items)
    )


class TemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def latest(self, key: str, *, lock: bool = False) -> tuple[Template, Any] | None:
        """The newest version of ``key`` and its row (who created it, when)."""
        query = (
            select(checklist_template)
            .where(checklist_template.c.key == key)
            .order_by(checklist_template.c.version.desc())
            .limit(1)
        )
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else (template_of(row), row)

    async def version(self, key: str, version: int) -> tuple[Template, Any] | None:
        query = select(checklist_template).where(
            checklist_template.c.key == key, checklist_template.c.version == version
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else (template_of(row), row)

    async def versions(self, key: str) -> list[tuple[Template, Any]]:
        query = select(checklist_template).where(checklist_template.c.key == key).order_by(checklist_template.c.version)
        return [(template_of(row), row) for row in (await self.session.execute(query)).all()]

    async def all_latest(self) -> list[tuple[Template, Any]]:
        newest = (
            select(checklist_template.c.key, func.max(checklist_template.c.version).label("version"))
            .group_by(checklist_template.c.key)
            .subquery()
        )
        query = (
            select(checklist_template)
            .join(
                newest,
                (newest.c.key == checklist_template.c.key) & (newest.c.version == checklist_template.c.version),
            )
            .order_by(checklist_template.c.key)
        )
        return [(template_of(row), row) for row in (await self.session.execute(query)).all()]

    async def add(self, template: Template, *, by: str, now: datetime) -> bool:
        """Store a version; False when that key and version exist already (seeding twice adds nothing)."""
        result = await self.session.execute(
            insert(checklist_template)
            .values(
                key=template.key,
                version=template.version,
                kind=template.kind,
                language=template.language,
                title=template.title,
                items=items_json(template),
                created_by=by,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["key", "version"])
            .returning(checklist_template.c.key)
        )
        return result.scalar_one_or_none() is not None
