"""Cost centres: load under lock, save, list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_budgets.domain.cost_centres import CostCentre
from backoffice_budgets.models import cost_centre
from backoffice_common.db import driver_connection

_GET_SQL = (
    "SELECT id, name, owner_id, owner_name, owner_email, department, active, updated_at FROM cost_centre WHERE id = $1"
)


def _load(row: Any) -> CostCentre:
    """From a row by column name (a SQLAlchemy row's ``_mapping``, an asyncpg record)."""
    return CostCentre(
        id=row["id"],
        name=row["name"],
        owner={"id": row["owner_id"], "name": row["owner_name"], "email": row["owner_email"]},
        department=row["department"],
        active=row["active"],
        updated_at=row["updated_at"],
    )


class CostCentreRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, cost_centre_id: str, *, lock: bool = False) -> CostCentre | None:
        """Raw asyncpg without ``lock`` (every priced request event reads its cost centre)."""
        if not lock:
            conn = await driver_connection(self.session)
            record = await conn.fetchrow(_GET_SQL, cost_centre_id)
            return _load(record) if record is not None else None
        stmt = select(cost_centre).where(cost_centre.c.id == cost_centre_id)
        row = (await self.session.execute(stmt.with_for_update())).first()
        return _load(row._mapping) if row else None

    async def save(self, cc: CostCentre) -> bool:
        """Insert or update; False when a new cost centre's id was taken meanwhile."""
        values = {
            "id": cc.id,
            "name": cc.name,
            "owner_id": cc.owner["id"],
            "owner_name": cc.owner.get("name", ""),
            "owner_email": cc.owner.get("email", ""),
            "department": cc.department,
            "active": cc.active,
            "updated_at": cc.updated_at,
        }
        stmt = insert(cost_centre).values(**values)
        stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={k: v for k, v in values.items() if k != "id"})
        await self.session.execute(stmt)
        return True

    async def add(self, cc: CostCentre) -> bool:
        stmt = (
            insert(cost_centre)
            .values(
                id=cc.id,
                name=cc.name,
                owner_id=cc.owner["id"],
                owner_name=cc.owner.get("name", ""),
                owner_email=cc.owner.get("email", ""),
                department=cc.department,
                active=cc.active,
                updated_at=cc.updated_at,
            )
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(cost_centre.c.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def list(self, *, department: str | None = None, active: bool | None = None) -> Sequence[CostCentre]:
        stmt = select(cost_centre).order_by(cost_centre.c.id)
        if department is not None:
            stmt = stmt.where(cost_centre.c.department == department)
        if active is not None:
            stmt = stmt.where(cost_centre.c.active == active)
        return [_load(r._mapping) for r in (await self.session.execute(stmt)).all()]
