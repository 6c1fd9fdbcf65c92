"""Recording deliveries with the event that causes them, the vendor fan-out, and what a send attempt leads to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backoffice_common.events import CloudEvent
from backoffice_notifications.domain.deliveries import Delivery, DeliveryError
from backoffice_notifications.domain.errors import DeliveryNotFound
from backoffice_notifications.domain.events import DomainEvent
from backoffice_notifications.domain.retry import backoff_seconds
from backoffice_notifications.domain.vendors import Vendor
from backoffice_notifications.mail.render import render
from backoffice_notifications.service.uow import NotificationsUnitOfWork, correlation_of
from backoffice_notifications.settings import Settings


@dataclass(frozen=True)
class Cause:
    """The event a delivery answers: its id makes the delivery unique, its correlation id travels on."""

    event_id: str
    correlation_id: str

    @classmethod
    def of(cls, event: CloudEvent | DomainEvent) -> Cause:
        if isinstance(event, DomainEvent):
            return cls(event.id, correlation_of(event))
        return cls(event.id, event.correlationid or event.id)


@dataclass(frozen=True)
class Target:
    """Who an order-related delivery concerns."""

    request_id: str | None
    revision: int | None = None
    vendor_id: str | None = None
    notifies_vendor: bool = False


async def email(
    uow: NotificationsUnitOfWork,
    *,
    cause: Cause,
    template: str,
    language: str,
    recipient: str,
    context: dict[str, Any],
    target: Target,
) -> bool:
    """Renders the email now and records it; nothing for an empty recipient or a repeat of the same cause."""
    if not recipient:
        return False
    mail = render(template, language, context)
    return await uow.deliveries.add(
        Delivery(
            **_common(cause, target),
            channel="email",
            recipient=recipient,
            template=template,
            language=mail.language,
            subject=mail.subject,
            body_text=mail.text,
            body_html=mail.html,
        )
    )


async def staff_email(
    uow: NotificationsUnitOfWork,
    *,
    cause: Cause,
    template: str,
    recipient: str,
    context: dict[str, Any],
    request_id: str | None,
    settings: Settings,
    language: str | None = None,
) -> bool:
    """An email to a person of ours (approver, requester, signatory) in their language: the ``language`` the
    approver directory gives them on the events that name them; ``default_language`` for someone it does not
    list."""
    return await email(
        uow,
        cause=cause,
        template=template,
        language=language or settings.default_language,
        recipient=recipient,
        context=context,
        target=Target(request_id),
    )


async def webhook(
    uow: NotificationsUnitOfWork,
    *,
    cause: Cause,
    template: str,
    url: str,
    payload: dict[str, Any],
    target: Target,
) -> bool:
    return await uow.deliveries.add(
        Delivery(
            **_common(cause, target),
            channel="webhook",
            recipient=url,
            template=template,
            language="en",
            payload=payload,
        )
    )


def _common(cause: Cause, target: Target) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "event_id": cause.event_id,
        "correlation_id": cause.correlation_id,
        "request_id": target.request_id,
        "revision": target.revision,
        "vendor_id": target.vendor_id,
        "notifies_vendor": target.notifies_vendor,
    }


@dataclass(frozen=True)
class VendorMessage:
    """One message to a vendor: an email to every contact and, if the vendor has one, a webhook call."""

    template: str
    context: dict[str, Any]
    webhook_payload: dict[str, Any] | None = None
    webhook_template: str | None = None
    language: str | None = None


async def notify_vendor(
    uow: NotificationsUnitOfWork, *, cause: Cause, vendor: Vendor, message: VendorMessage, target: Target
) -> None:
    """Emails every contact of the vendor (in the vendor's language unless the message names one), then the webhook."""
    for contact in vendor.contact_emails:
        await email(
            uow,
            cause=cause,
            template=message.template,
            language=message.language or vendor.language,
            recipient=contact,
            context=message.context,
            target=target,
        )
    if vendor.webhook_url and message.webhook_payload is not None:
        await webhook(
            uow,
            cause=cause,
            template=message.webhook_template or message.template,
            url=vendor.webhook_url,
            payload=message.webhook_payload,
            target=target,
        )


async def retry(uow: NotificationsUnitOfWork, *, delivery_id: str) -> Delivery:
    """A failed delivery gets a fresh set of attempts, due now."""
    found = await uow.deliveries.get(delivery_id, lock=True)
    if found is None:
        raise DeliveryNotFound(f"no delivery {delivery_id}")
    found.retry(now=datetime.now(UTC))
    await uow.deliveries.save(found)
    await uow.commit()
    return found


async def get(uow: NotificationsUnitOfWork, *, delivery_id: str) -> Delivery:
    found = await uow.deliveries.get(delivery_id)
    if found is None:
        raise DeliveryNotFound(f"no delivery {delivery_id}")
    return found


async def record_outcome(
    uow: NotificationsUnitOfWork, sent: Delivery, error: DeliveryError | None, *, settings: Settings
) -> None:
    """Sent (and vendor.notified for the first delivery that reached the vendor), or a failed attempt."""
    now = datetime.now(UTC)
    if error is None:
        sent.sent(now=now)
        if sent.reaches_vendor and await uow.deliveries.first_to_reach_vendor(sent):
            sent.vendor_notified()
    else:
        delay = backoff_seconds(
            attempt=sent.attempts + 1,
            initial=settings.delivery_backoff_initial_seconds,
            maximum=settings.delivery_backoff_max_seconds,
        )
        sent.attempt_failed(error, max_attempts=settings.delivery_max_attempts, retry_in=delay, now=now)
    await uow.deliveries.save(sent)
