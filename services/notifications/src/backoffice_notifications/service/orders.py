"""The order read model kept from requests' and approvals' events, and sending an order to its vendor."""

from __future__ import annotations

from typing import Any

from backoffice_notifications.domain.orders import AWAITING_VENDOR, IN_APPROVAL, Order
from backoffice_notifications.domain.vendors import Vendor
from backoffice_notifications.service import deliveries, links
from backoffice_notifications.service.deliveries import Cause, Target, VendorMessage
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings

ORDER = "purchase_order"


async def submitted(uow: NotificationsUnitOfWork, *, snapshot: dict[str, Any]) -> None:
    await uow.orders.save_snapshot(snapshot, status=IN_APPROVAL, strictly_newer=True)


async def approved(uow: NotificationsUnitOfWork, *, cause: Cause, snapshot: dict[str, Any], settings: Settings) -> None:
    """The order goes to the vendor, and the requester hears it was approved."""
    upserted = await uow.orders.upsert(snapshot, status=AWAITING_VENDOR)
    if upserted is None:
        return
    await send_order(uow, cause=cause, settings=settings, order=upserted[0], vendor=upserted[1])
    requester = snapshot.get("requester") or {}
    await deliveries.staff_email(
        uow,
        cause=cause,
        template="request_approved",
        recipient=requester.get("email", ""),
        language=requester.get("language"),
        context={"requester": requester, "number": snapshot.get("number", ""), "title": snapshot.get("title", "")},
        request_id=snapshot["request_id"],
        settings=settings,
    )


async def reassigned(
    uow: NotificationsUnitOfWork, *, cause: Cause, snapshot: dict[str, Any], settings: Settings
) -> None:
    """Unsent deliveries of the old revision are withdrawn; the order goes to the new vendor."""
    upserted = await uow.orders.upsert(snapshot, status=AWAITING_VENDOR)
    if upserted is not None:
        await uow.deliveries.withdraw_orders(request_id=snapshot["request_id"])
        await send_order(uow, cause=cause, settings=settings, order=upserted[0], vendor=upserted[1])


async def cancelled(uow: NotificationsUnitOfWork, *, cause: Cause, request_id: str, reason: str) -> None:
    """An order still queued is never sent; the vendor hears of the cancellation only if the order reached them."""
    order = await uow.orders.get(request_id, lock=True)
    if order is None:
        return
    order.cancel()
    await uow.orders.save(order)
    await uow.deliveries.withdraw_orders(request_id=request_id)
    if not await uow.orders.reached_vendor(request_id=request_id, vendor_id=order.sent_to_vendor_id):
        return
    vendor = await uow.vendors.get(order.sent_to_vendor_id)
    if vendor is None:
        return
    number = order.number
    message = VendorMessage(
        template="order_cancelled",
        context={"vendor_name": vendor.legal_name, "number": number, "reason": reason},
        webhook_payload={
            "type": "purchase_order.cancelled",
            "request_id": request_id,
            "number": number,
            "reason": reason,
        },
    )
    await deliveries.notify_vendor(
        uow, cause=cause, vendor=vendor, message=message, target=Target(request_id, vendor_id=vendor.id)
    )


async def send_order(
    uow: NotificationsUnitOfWork, *, cause: Cause, settings: Settings, order: Order, vendor: Vendor | None
) -> None:
    """Emails the order to every vendor contact with a signed answer link, and posts it to the vendor's webhook.

    ``order`` and its vendor (``order.vendor_id``'s, None: unknown) as this unit of work's upsert returned them
    (``orders.upsert``: the stored row and the vendor's, not read again)."""
    request_id = order.request_id
    if vendor is None or not vendor.is_active:
        error = "unknown vendor" if vendor is None else "the vendor is blocked"
        order.undeliverable(
            vendor_id=order.vendor_id, error=error, cause_id=cause.event_id, correlation_id=cause.correlation_id
        )
        return
    link = await links.create_link(
        uow,
        settings=settings,
        purpose="respond_order",
        request_id=request_id,
        revision=order.revision,
        vendor_id=vendor.id,
    )
    snapshot = order.snapshot
    message = VendorMessage(
        template=ORDER,
        context={
            "vendor_name": vendor.legal_name,
            "request": snapshot,
            "respond_url": link.url,
            "expires_at": link.expires_at.date(),
        },
        webhook_payload={
            "type": "purchase_order.approved",
            "vendor_id": vendor.id,
            "order": snapshot,
            "respond_url": link.url,
        },
    )
    target = Target(request_id, revision=order.revision, vendor_id=vendor.id, notifies_vendor=True)
    await deliveries.notify_vendor(uow, cause=cause, vendor=vendor, message=message, target=target)
    order.sent_to(vendor.id)
    await uow.orders.save(order)
