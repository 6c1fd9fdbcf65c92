"""The local read model of cost centres, fed by ``cost_centre.updated`` on ``backoffice.cost_centres``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_requests.models import cost_centre


class CostCentreRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, *, cost_center: str, active: bool, record: dict[str, Any], updated_at: str) -> bool:
        """Keep the newest record of each cost centre (records may arrive twice or out of order);
        ``updated_at`` is ISO 8601 in UTC with microseconds, so later records compare greater as strings."""
        stmt = pg_insert(cost_centre).values(
            cost_center=cost_center,
            name=str(record.get("name", ""))[:300],
            active=active,
            record=record,
            record_updated_at=updated_at,
        )
        upsert_stmt = stmt.on_conflict_do_update(
            index_elements=["cost_center"],
            set_={
                "name": stmt.excluded.name,
                "active": stmt.excluded.active,
                "record": stmt.excluded.record,
                "record_updated_at": stmt.excluded.record_updated_at,
            },
            where=cost_centre.c.record_updated_at <= stmt.excluded.record_updated_at,
        ).returning(cost_centre.c.cost_center)
        return (await self.session.execute(upsert_stmt)).scalar_one_or_none() is not None

    async def active_of(self, cost_center: str) -> bool | None:
        """Whether the cost centre accepts requests, or None for one not known here."""
        return await self.session.scalar(select(cost_centre.c.active).where(cost_centre.c.cost_center == cost_center))
