"""Vendor directory operations; the caller's unit of work commits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import RowMapping

from backoffice_common.auth import User
from backoffice_common.events import new_event
from backoffice_common.problems import Problem
from backoffice_common.uow import UnitOfWork
from backoffice_notifications.deliveries.webhook_client import check_webhook_url
from backoffice_notifications.domain.addresses import UnsafeUrlError
from backoffice_notifications.models import vendor, vendor_secret
from backoffice_notifications.settings import Settings
from backoffice_notifications.vendors.schemas import VendorCreate, VendorRead, VendorUpdate

VENDORS_TOPIC = "backoffice.vendors"


def vendor_record(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    """The VendorRecord of docs/events.md: never a secret, never the webhook URL itself."""
    return {
        "vendor_id": row["id"],
        "legal_name": row["legal_name"],
        "address": row["address"],
        "contact_emails": list(row["contact_emails"]),
        "language": row["language"],
        "status": row["status"],
        "has_webhook": bool(row["webhook_url"]),
        "updated_at": row["updated_at"].isoformat(),
    }


async def _checked_url(url: str | None, settings: Settings) -> str | None:
    if not url:
        return None
    try:
        await check_webhook_url(url, settings=settings)
    except UnsafeUrlError as exc:
        raise Problem(422, "Webhook URL refused", str(exc), type="unsafe-webhook-url") from exc
    return url


def _publish(uow: UnitOfWork, row: RowMapping, user: User) -> None:
    data = {
        "schema_version": 1,
        **vendor_record(row),
        "actor": {"id": user.sub, "name": user.name, "role": "admin" if "admin" in user.roles else "procurement"},
    }
    event = new_event(type="vendor.updated", service="notifications", subject=row["id"], data=data)
    uow.publish(event, topic=VENDORS_TOPIC, key=row["id"])


async def _read(uow: UnitOfWork, vendor_id: str) -> VendorRead:
    row = (await uow.session.execute(select(vendor).where(vendor.c.id == vendor_id))).mappings().one_or_none()
    if row is None:
        raise Problem(404, "Not Found", f"no vendor {vendor_id}", type="vendor-not-found")
    now = datetime.now(UTC)
    count = await uow.session.scalar(
        select(func.count())
        .select_from(vendor_secret)
        .where(
            vendor_secret.c.vendor_id == vendor_id,
            or_(vendor_secret.c.expires_at.is_(None), vendor_secret.c.expires_at > now),
        )
    )
    return VendorRead(
        vendor_id=row["id"],
        legal_name=row["legal_name"],
        address=row["address"],
        contact_emails=list(row["contact_emails"]),
        language=row["language"],
        webhook_url=row["webhook_url"],
        status=row["status"],
        has_webhook=bool(row["webhook_url"]),
        active_secrets=int(count or 0),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def create(*, uow: UnitOfWork, body: VendorCreate, user: User, settings: Settings) -> VendorRead:
    url = await _checked_url(body.webhook_url, settings)
    vendor_id = str(uuid.uuid4())
    values = body.model_dump() | {"id": vendor_id, "webhook_url": url}
    row = (await uow.session.execute(vendor.insert().values(**values).returning(*vendor.c))).mappings().one()
    _publish(uow, row, user)
    return await _read(uow, vendor_id)


async def update_vendor(
    *, uow: UnitOfWork, vendor_id: str, body: VendorUpdate, user: User, settings: Settings
) -> VendorRead:
    await _read(uow, vendor_id)
    changes = body.model_dump(exclude_unset=True)
    if "webhook_url" in changes:
        changes["webhook_url"] = await _checked_url(changes["webhook_url"], settings)
    for key in ("legal_name", "address", "contact_emails", "language", "status"):
        if key in changes and changes[key] is None:
            raise Problem(422, "Invalid update", f"{key} cannot be null", type="validation")
    row = (
        (
            await uow.session.execute(
                vendor.update()
                .where(vendor.c.id == vendor_id)
                .values(**changes, updated_at=func.now())
                .returning(*vendor.c)
            )
        )
        .mappings()
        .one()
    )
    _publish(uow, row, user)
    return await _read(uow, vendor_id)


async def get(*, uow: UnitOfWork, vendor_id: str) -> VendorRead:
    return await _read(uow, vendor_id)


async def list_vendors(*, uow: UnitOfWork, limit: int, offset: int) -> list[VendorRead]:
    ids = (
        await uow.session.execute(select(vendor.c.id).order_by(vendor.c.legal_name).limit(limit).offset(offset))
    ).scalars()
    return [await _read(uow, vendor_id) for vendor_id in ids.all()]
