"""The local read model of vendors, fed by ``vendor.updated`` on ``backoffice.vendors``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_requests.domain.errors import InvalidRequest
from backoffice_requests.models import vendor


def _normalised_time(value: Any) -> str:
    """ISO 8601 in UTC with microseconds, so that later records compare greater as strings."""
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="microseconds")


async def upsert(session: AsyncSession, record: dict[str, Any]) -> bool:
    """Keep the newest record of each vendor (records may arrive twice or out of order)."""
    updated_at = _normalised_time(record["updated_at"])
    stmt = pg_insert(vendor).values(
        vendor_id=record["vendor_id"],
        legal_name=str(record.get("legal_name", ""))[:300],
        status=record["status"],
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
    return (await session.execute(upsert_stmt)).scalar_one_or_none() is not None


async def require_active(session: AsyncSession, vendor_id: str) -> None:
    status = await session.scalar(select(vendor.c.status).where(vendor.c.vendor_id == vendor_id))
    if status is None:
        raise InvalidRequest(f"vendor {vendor_id} is not known", field="vendor_id")
    if status != "active":
        raise InvalidRequest(f"vendor {vendor_id} is {status}", field="vendor_id")
