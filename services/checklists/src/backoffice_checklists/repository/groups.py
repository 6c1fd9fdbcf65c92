"""Members of the responsible groups, kept by HR: the local projection "my items" reads."""

from __future__ import annotations

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_checklists.models import group_member
from backoffice_common.db import driver_connection

_GROUPS_OF_SQL = 'SELECT "group" FROM group_member WHERE user_id = $1'


class GroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def groups_of(self, user_id: str) -> frozenset[str]:
        """Raw asyncpg (every item completed and every "my items" asks)."""
        conn = await driver_connection(self.session)
        return frozenset(r[0] for r in await conn.fetch(_GROUPS_OF_SQL, user_id))

    async def members(self, group: str) -> list[str]:
        query = select(group_member.c.user_id).where(group_member.c.group == group).order_by(group_member.c.user_id)
        return list((await self.session.execute(query)).scalars())

    async def lock(self, group: str) -> None:
        """Serialise replacements of one group's members (two at once would both insert after one delete)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"group:{group}"}
        )

    async def replace(self, group: str, members: list[str]) -> None:
        await self.session.execute(delete(group_member).where(group_member.c.group == group))
        if members:
            await self.session.execute(insert(group_member), [{"group": group, "user_id": m} for m in members])
