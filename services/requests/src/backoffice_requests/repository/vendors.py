"""The local read model of vendors, fed by ``vendor.updated`` on ``backoffice.vendors``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_requests.models import vendor


class VendorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, *, vendor_id: str, status: str, record: dict[str, Any], updated_at: str) -> bool:
        """Keep the newest record of each vendor (records may arrive twice or out of order); ``updated_at``
        is ISO 8601 in UTC with microseconds, so that later records compare greater as strings."""
        stmt = pg_insert(vendor).values(
            vendor_id=vendor_id,
            legal_name=str(record.get("legal_name", ""))[:300],
            status=status,
            record=record,
            record_updated_at=updated_at,
        )
        upsert_stmt = stmt.on_conflict_do_update(
            index_elements=["vendor_id"],
            set_={
                "legal_name": stmt.excluded.legal_name,
                "status": stmt.excluded.status,
                "record": stmt.excluded.record,
                "record_updated_at": stmt.excluded.record_updated_at,
            },
            where=vendor.c.record_updated_at <= stmt.excluded.record_updated_at,
        ).returning(vendor.c.vendor_id)
        return (await self.session.execute(upsert_stmt)).scalar_one_or_none() is not None

    async def status_of(self, vendor_id: str) -> str | None:
        """The vendor's status (``active``, ``blocked``), or None for a vendor not known here."""
        return await self.session.scalar(select(vendor.c.status).where(vendor.c.vendor_id == vendor_id))
