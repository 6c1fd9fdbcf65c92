"""POST /vendor-webhook as a use case: who may answer (signature over the raw body), replays, then the answer."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from backoffice_notifications.domain.errors import WebhookReplayed
from backoffice_notifications.domain.events import DomainEvent
from backoffice_notifications.domain.vendors import Vendor
from backoffice_notifications.domain.webhook_signature import SignedHeaders, verify
from backoffice_notifications.service import responses, secrets
from backoffice_notifications.service.responses import VendorCommand
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


async def authenticate(
    uow: NotificationsUnitOfWork, *, settings: Settings, vendor_id: str, headers: SignedHeaders, body: bytes
) -> Vendor | None:
    """``SignatureError`` unless a valid secret of the named vendor signed ``body`` within the tolerance
    (an unknown vendor has no secrets: no oracle); ``WebhookReplayed`` for a webhook id seen before.

    The webhook id is stored in this transaction, so it counts only if what it asked for commits. Returns the
    vendor as read (for ``answer``: not read a second time in the same unit of work).
    """
    # The vendor and its unexpired secrets in one statement (one snapshot: both as of the same moment).
    vendor, ciphertexts = await uow.vendors.get_with_secrets(vendor_id, now=datetime.now(UTC))
    valid = secrets.decrypt_all(ciphertexts, settings=settings)
    verify(secrets_=valid, headers=headers, body=body, now=time.time(), tolerance=settings.webhook_tolerance_seconds)
    if not await uow.received_webhooks.remember(vendor_id=vendor_id, webhook_id=headers.msg_id):
        raise WebhookReplayed(f"webhook-id {headers.msg_id} was already received")
    return vendor


async def answer(
    uow: NotificationsUnitOfWork,
    *,
    vendor_id: str,
    command: VendorCommand,
    settings: Settings,
    vendor: Vendor | None = None,
) -> DomainEvent:
    """The authenticated vendor's answer, committed with its webhook id; ``vendor``: as ``authenticate`` read it."""
    event = await responses.act(
        uow, vendor_id=vendor_id, command=command, channel="webhook", settings=settings, known=vendor
    )
    await uow.commit()
    return event


async def forget_old_webhook_ids(uow: NotificationsUnitOfWork, *, settings: Settings) -> None:
    """Ids older than three tolerances are forgotten: such messages fail the timestamp check anyway."""
    cutoff = datetime.now(UTC) - timedelta(seconds=3 * settings.webhook_tolerance_seconds)
    await uow.received_webhooks.forget_before(cutoff)
    await uow.commit()
