"""Policy versions: the latest is the active one.

A stored version never changes (a new document is a new version), so each version's document is parsed
once per process (``_PARSED``, by version and creation time: tests run several databases in one process)
and the active one is read raw (every chain start asks for it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_approvals.domain.policy import PolicyDocument
from backoffice_approvals.models import policy
from backoffice_common.db import driver_connection

_ACTIVE_SQL = "SELECT version, created_at, document FROM policy ORDER BY version DESC LIMIT 1"
_PARSED: dict[tuple[int, datetime], PolicyDocument] = {}
"""The parsed document of each version seen; a few per year, each a few KB."""


class PolicyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active(self) -> tuple[int, PolicyDocument] | None:
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(_ACTIVE_SQL)
        if row is None:
            return None
        version: int = row["version"]
        key = (version, row["created_at"])
        parsed = _PARSED.get(key)
        if parsed is None:
            parsed = _PARSED[key] = PolicyDocument.model_validate(row["document"])
        return version, parsed

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
