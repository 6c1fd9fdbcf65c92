"""backoffice.requests: the order read model, reassignment to a new vendor, cancellation."""

from __future__ import annotations

from backoffice_common.consumer import Handler
from backoffice_common.events import CloudEvent
from backoffice_common.uow import UnitOfWork
from backoffice_notifications.consumers.payloads import Cancelled, WithRequest, parse
from backoffice_notifications.deliveries.enqueue import enqueue_email, enqueue_webhook
from backoffice_notifications.domain.orders import AWAITING_VENDOR, CANCELLED, IN_APPROVAL
from backoffice_notifications.flows.orders import (
    get_order,
    get_vendor,
    order_reached_vendor,
    send_order,
    upsert_snapshot,
    withdraw_pending_orders,
)
from backoffice_notifications.models import order_view
from backoffice_notifications.settings import Settings


def handlers(settings: Settings) -> dict[str, Handler]:
    async def submitted(event: CloudEvent, uow: UnitOfWork) -> None:
        parse(WithRequest, event)
        await upsert_snapshot(uow, event.data["request"], status=IN_APPROVAL, strictly_newer=True)

    async def vendor_reassigned(event: CloudEvent, uow: UnitOfWork) -> None:
        parse(WithRequest, event)
        snapshot = event.data["request"]
        if await upsert_snapshot(uow, snapshot, status=AWAITING_VENDOR):
            await withdraw_pending_orders(uow, request_id=snapshot["request_id"])
            await send_order(uow=uow, cause=event, snapshot=snapshot, settings=settings)

    async def cancelled(event: CloudEvent, uow: UnitOfWork) -> None:
        body = parse(Cancelled, event)
        order = await get_order(uow, body.request_id, lock=True)
        if order is None:
            return
        await uow.session.execute(
            order_view.update().where(order_view.c.request_id == body.request_id).values(status=CANCELLED)
        )
        # An order still waiting in the delivery queue is never sent; the vendor hears of the
        # cancellation only if the order actually reached them.
        await withdraw_pending_orders(uow, request_id=body.request_id)
        if not await order_reached_vendor(uow, request_id=body.request_id, vendor_id=order["sent_to_vendor_id"]):
            return
        vendor_row = await get_vendor(uow, order["sent_to_vendor_id"])
        if vendor_row is None:
            return
        number = order["snapshot"].get("number", body.request_id)
        context = {"vendor_name": vendor_row["legal_name"], "number": number, "reason": body.reason}
        for email in vendor_row["contact_emails"]:
            await enqueue_email(
                session=uow.session,
                cause=event,
                template="order_cancelled",
                language=vendor_row["language"],
                recipient=email,
                context=context,
                request_id=body.request_id,
                vendor_id=vendor_row["id"],
            )
        if vendor_row["webhook_url"]:
            payload = {
                "type": "purchase_order.cancelled",
                "request_id": body.request_id,
                "number": number,
                "reason": body.reason,
            }
            await enqueue_webhook(
                session=uow.session,
                cause=event,
                template="order_cancelled",
                url=vendor_row["webhook_url"],
                payload=payload,
                request_id=body.request_id,
                vendor_id=vendor_row["id"],
            )

    return {
        "purchase_request.submitted": submitted,
        "purchase_request.vendor_reassigned": vendor_reassigned,
        "purchase_request.cancelled": cancelled,
    }
