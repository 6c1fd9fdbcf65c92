"""The vendor directory: create, change, read; webhook secrets. Every change publishes vendor.updated."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from backoffice_common.auth import User
from backoffice_notifications.domain.addresses import UnsafeUrlError
from backoffice_notifications.domain.errors import VendorNotFound
from backoffice_notifications.domain.vendors import Vendor
from backoffice_notifications.service import deliveries, secrets
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings
from backoffice_notifications.webhooks.client import check_webhook_url


@dataclass(frozen=True)
class VendorView:
    vendor: Vendor
    active_secrets: int


def _actor(user: User) -> dict[str, str]:
    return {"id": user.sub, "name": user.name, "role": "admin" if "admin" in user.roles else "procurement"}


async def _checked_url(url: str | None, settings: Settings) -> str | None:
    """``UnsafeUrlError`` for a URL that is malformed or reaches a private network."""
    if not url:
        return None
    await check_webhook_url(url, settings=settings)
    return url


async def _view(uow: NotificationsUnitOfWork, vendor: Vendor) -> VendorView:
    return VendorView(vendor, await uow.vendors.count_active_secrets(vendor.id, now=datetime.now(UTC)))


async def _existing(uow: NotificationsUnitOfWork, vendor_id: str, *, lock: bool = False) -> Vendor:
    found = await uow.vendors.get(vendor_id, lock=lock)
    if found is None:
        raise VendorNotFound(f"no vendor {vendor_id}")
    return found


async def create(uow: NotificationsUnitOfWork, *, fields: dict[str, Any], user: User, settings: Settings) -> VendorView:
    fields = fields | {"webhook_url": await _checked_url(fields.get("webhook_url"), settings)}
    vendor = Vendor.register(id=str(uuid.uuid4()), fields=fields, actor=_actor(user), now=datetime.now(UTC))
    await uow.vendors.add(vendor)
    view = await _view(uow, vendor)
    await uow.commit()
    return view


async def update(
    uow: NotificationsUnitOfWork, *, vendor_id: str, changes: dict[str, Any], user: User, settings: Settings
) -> VendorView:
    if "webhook_url" in changes:  # resolved before the row is locked: DNS may take a while
        try:
            checked = await _checked_url(changes["webhook_url"], settings)
        except UnsafeUrlError:
            await _existing(uow, vendor_id)  # an unknown vendor is a 404 whatever its body says
            raise
        changes = changes | {"webhook_url": checked}
    vendor = await _existing(uow, vendor_id, lock=True)  # concurrent edits in turn: none loses an administrator
    was_active, now = vendor.is_active, datetime.now(UTC)
    removed = vendor.change(changes, actor=_actor(user), now=now)
    await uow.vendors.save(vendor)
    if removed:
        # A contact taken off the vendor hears of it: the next secret's retrieval link goes to the new
        # contacts, so a change made behind the vendor's back does not go unnoticed.
        context = {
            "vendor_name": vendor.legal_name,
            "changed_by": user.name or user.sub,
            "changed_at": now.isoformat(timespec="seconds"),
            "contacts": ", ".join(vendor.contact_emails),
        }
        for contact in removed:
            await deliveries.email(
                uow,
                cause=deliveries.Cause.of(vendor.events[-1]),
                template="vendor_contacts_changed",
                language=vendor.language,
                recipient=contact,
                context=context,
                target=deliveries.Target(None, vendor_id=vendor.id),
            )
        changed: dict[str, Any] = {"vendor_id": vendor.id, "removed": removed, "contacts": list(vendor.contact_emails)}
        uow.record_fact(type="vendor.contacts_changed", subject=vendor.id, data=changed | {"changed_by": _actor(user)})
    if was_active and not vendor.is_active:
        # Blocked: its unused order and contract links stop working at once (the requests service withdraws
        # its outstanding orders when it hears of the block; retrieval links refuse a blocked vendor too).
        withdrawn = await uow.links.revoke_for_vendor(vendor.id, at=now)
        fact = {"vendor_id": vendor.id, "links_withdrawn": withdrawn, "blocked_by": _actor(user)}
        uow.record_fact(type="vendor.links_withdrawn", subject=vendor.id, data=fact)
    view = await _view(uow, vendor)
    await uow.commit()
    return view


async def get(uow: NotificationsUnitOfWork, *, vendor_id: str) -> VendorView:
    return await _view(uow, await _existing(uow, vendor_id))


async def page(uow: NotificationsUnitOfWork, *, limit: int, offset: int) -> list[VendorView]:
    return [await get(uow, vendor_id=vendor_id) for vendor_id in await uow.vendors.page_ids(limit=limit, offset=offset)]


async def rotate_secret(
    uow: NotificationsUnitOfWork,
    *,
    vendor_id: str,
    user: User,
    settings: Settings,
    before_commit: Callable[[secrets.RotatedSecret], Awaitable[None]] | None = None,
) -> secrets.RotatedSecret:
    """A new signing secret that its rotator never sees: the vendor's first contact gets a one-time link to
    it (``vendor_secret_retrieval``); older ones stay valid for the overlap. The rotation is published
    (``vendor.updated`` naming the rotator among ``credential_administrators``) and announced to every
    contact of the vendor, so a secret made behind the vendor's back does not go unnoticed. ``before_commit``
    gets the outcome inside the transaction (the API stores its Idempotency-Key answer there)."""
    vendor = await _existing(uow, vendor_id, lock=True)
    now = datetime.now(UTC)
    event = vendor.credentials_rotated(actor=_actor(user), now=now)
    await uow.vendors.save(vendor)
    rotated = await secrets.rotate(uow, vendor_id=vendor_id, settings=settings)
    context = {
        "vendor_name": vendor.legal_name,
        "rotated_by": user.name or user.sub,
        "rotated_at": now.isoformat(timespec="seconds"),
        "secret_id": rotated.secret_id,
    }
    for contact in vendor.contact_emails:
        await deliveries.email(
            uow,
            cause=deliveries.Cause.of(event),
            template="vendor_credentials_rotated",
            language=vendor.language,
            recipient=contact,
            context=context,
            target=deliveries.Target(None, vendor_id=vendor.id),
        )
    # The vendor's first contact (at least one is required) is the one the secret is handed to.
    await deliveries.email(
        uow,
        cause=deliveries.Cause.of(event),
        template="vendor_secret_retrieval",
        language=vendor.language,
        recipient=vendor.contact_emails[0],
        context=context
        | {"retrieval_url": rotated.retrieval_url, "expires_at": f"{rotated.retrieval_expires_at:%Y-%m-%d %H:%M} UTC"},
        target=deliveries.Target(None, vendor_id=vendor.id),
    )
    fact = {
        "vendor_id": vendor_id,
        "secret_id": rotated.secret_id,
        "previous_expire_at": rotated.previous_secrets_expire_at,
        "retrieval_sent_to": vendor.contact_emails[0],
        "retrieval_expires_at": rotated.retrieval_expires_at,
    }
    uow.record_fact(type="vendor.secret_rotated", subject=vendor_id, data=fact)
    rotated = replace(rotated, retrieval_sent_to=vendor.contact_emails[0])
    if before_commit is not None:
        await before_commit(rotated)
    await uow.commit()
    return rotated
