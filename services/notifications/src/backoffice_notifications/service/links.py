"""Creating signed vendor links, and opening one a vendor followed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backoffice_notifications.domain.contracts import Contract
from backoffice_notifications.domain.events import DomainEvent
from backoffice_notifications.domain.links import Link, LinkNotFound, make_token, split_token
from backoffice_notifications.domain.orders import Order
from backoffice_notifications.service.responses import VendorCommand, act
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


@dataclass(frozen=True)
class NewLink:
    url: str
    expires_at: datetime


async def create_link(
    uow: NotificationsUnitOfWork,
    *,
    settings: Settings,
    purpose: str,
    request_id: str,
    revision: int,
    vendor_id: str,
    contract_id: str | None = None,
    expires_at: datetime | None = None,
) -> NewLink:
    """A new link, never outliving ``expires_at`` (a contract's) nor the configured lifetime."""
    limit = datetime.now(UTC) + timedelta(hours=settings.link_ttl_hours)
    expires = (min(limit, expires_at) if expires_at else limit).replace(microsecond=0)
    link = Link(str(uuid.uuid4()), purpose, request_id, revision, vendor_id, contract_id, expires)
    await uow.links.add(link)
    token = make_token(key=settings.link_signing_key, claims=link.claims)
    return NewLink(f"{settings.public_base_url.rstrip('/')}/vendor-links/{token}", expires)


async def open_link(uow: NotificationsUnitOfWork, *, settings: Settings, token: str, lock: bool = False) -> Link:
    """The link of a genuine, unexpired token (``LinkError`` otherwise); a used link is returned too."""
    link_id, _ = split_token(token)
    try:
        uuid.UUID(link_id)
    except ValueError as exc:
        raise LinkNotFound("the link is malformed") from exc
    link = await uow.links.get(link_id, lock=lock)
    if link is None:
        raise LinkNotFound("the link is unknown")
    link.check(
        key=settings.link_signing_key,
        previous_keys=settings.link_signing_previous_keys,
        token=token,
        now=datetime.now(UTC),
    )
    return link


async def redeem(
    uow: NotificationsUnitOfWork, *, link: Link, command: VendorCommand, settings: Settings
) -> DomainEvent:
    """What the vendor chose on the link's page; the link is used up in the same transaction."""
    event = await act(uow, vendor_id=link.vendor_id, command=command, channel="link", settings=settings)
    link.use(now=datetime.now(UTC))
    await uow.links.save(link)
    await uow.commit()
    return event


@dataclass(frozen=True)
class LinkPage:
    """What the page of an unused link shows: the order to answer, or the contract to sign."""

    link: Link
    vendor_name: str
    order: Order | None
    contract: Contract | None


async def inspect(uow: NotificationsUnitOfWork, *, settings: Settings, token: str) -> LinkPage:
    """Changes nothing: mail scanners that prefetch links must not use them up."""
    link = await open_link(uow, settings=settings, token=token)
    link.ensure_unused()
    vendor = await uow.vendors.get(link.vendor_id)
    order = await uow.orders.get(link.request_id)
    contract = await uow.contracts.get(link.contract_id) if link.contract_id else None
    return LinkPage(link, vendor.legal_name if vendor else "", order, contract)
