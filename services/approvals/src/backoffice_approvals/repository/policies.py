"""Policy versions: the latest is the active one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_approvals.domain.policy import PolicyDocument
from backoffice_approvals.models import policy


class PolicyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active(self) -> tuple[int, PolicyDocument] | None:
        row = (await self.session.execute(select(policy).order_by(policy.c.version.desc()).limit(1))).first()
        if row is None:
            return None
        return row.version, PolicyDocument.model_validate(row.document)

    async def add(self, document: dict[str, Any], *, name: str, created_by: str) -> tuple[int, datetime]:
        """Store a new version; its number and creation time."""
        row = (
            await self.session.execute(
                policy.insert()
                .values(name=name, document=document, created_by=created_by)
                .returning(policy.c.version, policy.c.created_at)
            )
        ).one()
        return row.version, row.created_at

    async def get(self, version: int) -> Any:
        """The stored row of one version, or None."""
        return (await self.session.execute(select(policy).where(policy.c.version == version))).first()

    async def newest(self, *, limit: int) -> list[Any]:
        return list((await self.session.execute(select(policy).order_by(policy.c.version.desc()).limit(limit))).all())
