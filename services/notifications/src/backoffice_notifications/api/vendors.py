"""REST routes of the vendor directory (procurement and admin)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from backoffice_common.idempotency import IdempotencyKey, IdempotencyStore, Reply
from backoffice_notifications.api.deps import SettingsDep, Staff, Uow
from backoffice_notifications.schemas import SecretCreated, VendorCreate, VendorRead, VendorUpdate
from backoffice_notifications.service import secrets, vendors
from backoffice_notifications.service.vendors import VendorView

router = APIRouter(prefix="/vendors", tags=["vendors"])


def _read(view: VendorView) -> VendorRead:
    vendor = view.vendor
    return VendorRead(
        id=vendor.id,
        legal_name=vendor.legal_name,
        address=vendor.address,
        contact_emails=list(vendor.contact_emails),
        language=vendor.language,  # type: ignore[arg-type]
        webhook_url=vendor.webhook_url,
        status=vendor.status,  # type: ignore[arg-type]
        has_webhook=bool(vendor.webhook_url),
        active_secrets=view.active_secrets,
        created_at=vendor.created_at,
        updated_at=vendor.updated_at,
    )


@router.post("", status_code=201)
async def create_vendor(
    body: VendorCreate, uow: Uow, user: Staff, settings: SettingsDep, response: Response
) -> VendorRead:
    created = _read(await vendors.create(uow, fields=body.model_dump(), user=user, settings=settings))
    response.headers["Location"] = f"/vendors/{created.id}"
    return created


@router.get("")
async def list_vendors(
    uow: Uow,
    user: Staff,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[VendorRead]:
    return [_read(view) for view in await vendors.page(uow, limit=limit, offset=offset)]


@router.get("/{vendor_id}")
async def get_vendor(vendor_id: UUID, uow: Uow, user: Staff) -> VendorRead:
    return _read(await vendors.get(uow, vendor_id=str(vendor_id)))


@router.patch("/{vendor_id}")
async def update_vendor(
    vendor_id: UUID, body: VendorUpdate, uow: Uow, user: Staff, settings: SettingsDep
) -> VendorRead:
    changes = body.model_dump(exclude_unset=True)
    return _read(await vendors.update(uow, vendor_id=str(vendor_id), changes=changes, user=user, settings=settings))


@router.post("/{vendor_id}/secrets", status_code=201, response_model=SecretCreated)
async def rotate_secret(
    vendor_id: UUID, uow: Uow, user: Staff, settings: SettingsDep, http: Request, key: IdempotencyKey = None
) -> JSONResponse:
    """Creates a new signing secret that the caller never sees; older ones stay valid for the overlap.

    The vendor's first contact gets a one-time retrieval link (``/vendor-secrets/<token>``, single use, expires
    after ``secret_retrieval_ttl_minutes``); every contact gets the announcement of the rotation, and the caller
    may no longer sign this vendor's contracts for the buyer. A secret has no page of its own: ``Location``
    names its vendor.

    With ``Idempotency-Key`` (a double click, a retry), a repeated request replays the first answer
    (``Idempotent-Replayed: true``) and rotates nothing; the same key for another vendor gets 422."""
    store = IdempotencyStore(uow.session)
    if key is not None:
        replay = await store.replay_or_claim(user_id=user.sub, key=key, request=http, payload=None)
        if replay is not None:
            return replay
    replies: list[Reply] = []

    async def answer(rotated: secrets.RotatedSecret) -> None:
        created = SecretCreated(
            id=rotated.secret_id,
            created_at=rotated.created_at,
            previous_secrets_expire_at=rotated.previous_secrets_expire_at,
            retrieval_sent_to=rotated.retrieval_sent_to,
            retrieval_expires_at=rotated.retrieval_expires_at,
        )
        reply = Reply(201, created.model_dump(mode="json"), {"Location": f"/vendors/{vendor_id}"})
        if key is not None:
            await store.store(user_id=user.sub, key=key, status_code=201, body=reply.body, headers=reply.headers)
        replies.append(reply)

    await vendors.rotate_secret(uow, vendor_id=str(vendor_id), user=user, settings=settings, before_commit=answer)
    return replies[0].response()
