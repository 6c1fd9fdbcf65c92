"""The local read model of cost centres: the newest record of each cost centre wins."""

from __future__ import annotations

from typing import Any

from backoffice_requests.domain.errors import InvalidRequest
from backoffice_requests.service.uow import RequestsUnitOfWork


async def record_cost_centre(
    *, uow: RequestsUnitOfWork, cost_center: str, active: bool, record: dict[str, Any], updated_at: str
) -> None:
    """Keep ``record`` unless a newer one of the cost centre is kept already."""
    await uow.cost_centres.upsert(cost_center=cost_center, active=active, record=record, updated_at=updated_at)


async def require_known(uow: RequestsUnitOfWork, cost_center: str) -> None:
    """Refuse a cost centre the budgets service has not published, or has deactivated."""
    active = await uow.cost_centres.active_of(cost_center)
    if active is None:
        raise InvalidRequest(f"cost centre {cost_center} is not known", field="cost_center")
    if not active:
        raise InvalidRequest(f"cost centre {cost_center} is inactive", field="cost_center")
