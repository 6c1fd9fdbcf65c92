"""The local read model of vendors: the newest record of each vendor wins."""

from __future__ import annotations

from typing import Any

from backoffice_requests.service.uow import RequestsUnitOfWork


async def record_vendor(
    *, uow: RequestsUnitOfWork, vendor_id: str, status: str, record: dict[str, Any], updated_at: str
) -> None:
    """Keep ``record`` unless a newer one of the vendor is kept already (records may arrive twice or
    out of order); ``updated_at`` is ISO 8601 in UTC with microseconds."""
    await uow.vendors.upsert(vendor_id=vendor_id, status=status, record=record, updated_at=updated_at)
