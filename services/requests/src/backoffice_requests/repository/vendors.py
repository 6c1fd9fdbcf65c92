"""The local read model of vendors, fed by ``vendor.updated`` on ``backoffice.vendors``."""

from __future__ import annotations

from typing import Any

from backoffice_requests.models import vendor
from backoffice_requests.repository.newest_records import NewestRecords


class VendorRepository(NewestRecords):
    table = vendor
    key = "vendor_id"

    async def upsert(self, *, vendor_id: str, status: str, record: dict[str, Any], updated_at: str) -> bool:
        """Keep the newest record of each vendor; False for a record older than the one kept."""
        legal_name = str(record.get("legal_name", ""))[:300]
        return await self._keep(vendor_id, record=record, updated_at=updated_at, legal_name=legal_name, status=status)

    async def status_of(self, vendor_id: str) -> str | None:
        """The vendor's status (``active``, ``blocked``), or None for a vendor not known here."""
        status: str | None = await self._value(vendor_id, vendor.c.status)
        return status
