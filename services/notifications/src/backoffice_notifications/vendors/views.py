"""REST routes of the vendor directory (procurement and admin)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from backoffice_common.app import UowDep
from backoffice_common.auth import User, require_roles
from backoffice_notifications.settings import Settings
from backoffice_notifications.vendors import secrets_store, service
from backoffice_notifications.vendors.schemas import SecretCreated, VendorCreate, VendorRead, VendorUpdate

router = APIRouter(prefix="/vendors", tags=["vendors"])
Staff = Annotated[User, Depends(require_roles("procurement", "admin"))]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]


@router.post("", status_code=201)
async def create_vendor(body: VendorCreate, uow: UowDep, user: Staff, settings: SettingsDep) -> VendorRead:
    result = await service.create(uow=uow, body=body, user=user, settings=settings)
    await uow.commit()
    return result


@router.get("")
async def list_vendors(
    uow: UowDep,
    user: Staff,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[VendorRead]:
    return await service.list_vendors(uow=uow, limit=limit, offset=offset)


@router.get("/{vendor_id}")
async def get_vendor(vendor_id: UUID, uow: UowDep, user: Staff) -> VendorRead:
    return await service.get(uow=uow, vendor_id=str(vendor_id))


@router.patch("/{vendor_id}")
async def update_vendor(
    vendor_id: UUID, body: VendorUpdate, uow: UowDep, user: Staff, settings: SettingsDep
) -> VendorRead:
    result = await service.update_vendor(uow=uow, vendor_id=str(vendor_id), body=body, user=user, settings=settings)
    await uow.commit()
    return result


@router.post("/{vendor_id}/secrets", status_code=201)
async def rotate_secret(vendor_id: UUID, uow: UowDep, user: Staff, settings: SettingsDep) -> SecretCreated:
    """Creates a new signing secret, shown only in this answer; older ones stay valid for the overlap."""
    await service.get(uow=uow, vendor_id=str(vendor_id))
    secret_id, secret, created_at, previous_expire = await secrets_store.rotate(
        session=uow.session,
        vendor_id=str(vendor_id),
        key=settings.secret_encryption_key,
        overlap_seconds=settings.secret_rotation_overlap_seconds,
    )
    await uow.commit()
    return SecretCreated(
        secret_id=secret_id, secret=secret, created_at=created_at, previous_secrets_expire_at=previous_expire
    )
