"""Deliveries through the API: list, inspect, retry by hand."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query

from backoffice_common.openapi import problem_responses
from backoffice_notifications.api.deps import Staff, Uow
from backoffice_notifications.domain.deliveries import Delivery
from backoffice_notifications.schemas import DeliveryRead
from backoffice_notifications.service import deliveries

router = APIRouter(prefix="/deliveries", tags=["deliveries"])


def _read(found: Delivery) -> DeliveryRead:
    fields = {k: getattr(found, k) for k in DeliveryRead.model_fields}
    return DeliveryRead(**fields)


@router.get("")
async def list_deliveries(
    uow: Uow,
    user: Staff,
    request_id: UUID | None = None,
    status: Literal["pending", "sent", "failed", "withdrawn"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryRead]:
    found = await uow.deliveries.page(request_id=str(request_id) if request_id else None, status=status, limit=limit)
    return [_read(d) for d in found]


@router.get("/{delivery_id}")
async def get_delivery(delivery_id: UUID, uow: Uow, user: Staff) -> DeliveryRead:
    return _read(await deliveries.get(uow, delivery_id=str(delivery_id)))


@router.post("/{delivery_id}/retry", status_code=202, responses=problem_responses(409))
async def retry_delivery(delivery_id: UUID, uow: Uow, user: Staff) -> DeliveryRead:
    """A failed delivery gets a fresh set of attempts, due now."""
    return _read(await deliveries.retry(uow, delivery_id=str(delivery_id)))
