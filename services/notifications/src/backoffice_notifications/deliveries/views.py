"""Deliveries through the API: list, inspect, retry by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from backoffice_common.app import UowDep
from backoffice_common.auth import User, require_roles
from backoffice_common.problems import Problem
from backoffice_notifications.models import delivery

router = APIRouter(prefix="/deliveries", tags=["deliveries"])
Staff = Annotated[User, Depends(require_roles("procurement", "admin"))]


class DeliveryRead(BaseModel):
    delivery_id: str
    event_id: str
    request_id: str | None
    revision: int | None
    vendor_id: str | None
    channel: str
    recipient: str
    template: str
    language: str
    subject: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def _read(row: Any) -> DeliveryRead:
    return DeliveryRead(delivery_id=row["id"], **{k: row[k] for k in DeliveryRead.model_fields if k != "delivery_id"})


@router.get("")
async def list_deliveries(
    uow: UowDep,
    user: Staff,
    request_id: UUID | None = None,
    status: Literal["pending", "sent", "failed", "withdrawn"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryRead]:
    query = select(delivery).order_by(delivery.c.created_at.desc()).limit(limit)
    if request_id is not None:
        query = query.where(delivery.c.request_id == str(request_id))
    if status is not None:
        query = query.where(delivery.c.status == status)
    rows = (await uow.session.execute(query)).mappings().all()
    return [_read(r) for r in rows]


@router.get("/{delivery_id}")
async def get_delivery(delivery_id: UUID, uow: UowDep, user: Staff) -> DeliveryRead:
    row = (await uow.session.execute(select(delivery).where(delivery.c.id == str(delivery_id)))).mappings().first()
    if row is None:
        raise Problem(404, "Not Found", f"no delivery {delivery_id}", type="delivery-not-found")
    return _read(row)


@router.post("/{delivery_id}/retry", status_code=202)
async def retry_delivery(delivery_id: UUID, uow: UowDep, user: Staff) -> DeliveryRead:
    """A failed delivery gets a fresh set of attempts, due now."""
    row = (
        (await uow.session.execute(select(delivery).where(delivery.c.id == str(delivery_id)).with_for_update()))
        .mappings()
        .first()
    )
    if row is None:
        raise Problem(404, "Not Found", f"no delivery {delivery_id}", type="delivery-not-found")
    if row["status"] != "failed":
        raise Problem(
            409,
            "Conflict",
            f"only failed deliveries can be retried; this one is {row['status']}",
            type="delivery-not-failed",
        )
    updated = (
        (
            await uow.session.execute(
                delivery.update()
                .where(delivery.c.id == row["id"])
                .values(status="pending", attempts=0, next_attempt_at=datetime.now(UTC))
                .returning(*delivery.c)
            )
        )
        .mappings()
        .one()
    )
    await uow.commit()
    return _read(updated)
