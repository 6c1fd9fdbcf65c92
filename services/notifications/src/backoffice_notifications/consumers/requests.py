"""backoffice.requests: the order read model, reassignment to a new vendor, cancellation."""

from __future__ import annotations

from backoffice_common.events import CloudEvent, parse_payload
from backoffice_notifications.consumers.payloads import Cancelled, WithRequest
from backoffice_notifications.service import orders
from backoffice_notifications.service.deliveries import Cause
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


async def submitted(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    parse_payload(WithRequest, event)
    await orders.submitted(uow, snapshot=event.data["request"])


async def vendor_reassigned(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    parse_payload(WithRequest, event)
    await orders.reassigned(uow, cause=Cause.of(event), snapshot=event.data["request"], settings=settings)


async def cancelled(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    body = parse_payload(Cancelled, event)
    await orders.cancelled(uow, cause=Cause.of(event), request_id=body.request_id, reason=body.reason)


HANDLERS = {
    "purchase_request.submitted": submitted,
    "purchase_request.vendor_reassigned": vendor_reassigned,
    "purchase_request.cancelled": cancelled,
}
