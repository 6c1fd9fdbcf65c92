"""The local read model of cost centres, fed by ``cost_centre.updated`` on ``backoffice.cost_centres``."""

from __future__ import annotations

from typing import Any

from backoffice_requests.models import cost_centre
from backoffice_requests.repository.newest_records import NewestRecords


class CostCentreRepository(NewestRecords):
    table = cost_centre
    key = "cost_center"

    async def upsert(self, *, cost_center: str, active: bool, record: dict[str, Any], updated_at: str) -> bool:
        """Keep the newest record of each cost centre; False for a record older than the one kept."""
        name = str(record.get("name", ""))[:300]
        return await self._keep(cost_center, record=record, updated_at=updated_at, name=name, active=active)

    async def active_of(self, cost_center: str) -> bool | None:
        """Whether the cost centre accepts requests, or None for one not known here."""
        active: bool | None = await self._value(cost_center, cost_centre.c.active)
        return active
