"""The local read model of orders, and sending an approved order to its vendor."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping

from backoffice_common.events import CloudEvent, new_event
from backoffice_common.uow import UnitOfWork
from backoffice_notifications.deliveries.enqueue import enqueue_email, enqueue_webhook
from backoffice_notifications.domain.orders import CANCELLED, OrderView, system_actor
from backoffice_notifications.flows.links import create_link
from backoffice_notifications.models import delivery, order_view, vendor, vendor_notification
from backoffice_notifications.settings import Settings

TOPIC = "backoffice.notifications"


async def get_order(uow: UnitOfWork, request_id: str, *, lock: bool = False) -> RowMapping | None:
    query = select(order_view).where(order_view.c.request_id == request_id)
    if lock:
        query = query.with_for_update()
    return (await uow.session.execute(query)).mappings().first()


def as_view(row: RowMapping | None) -> OrderView | None:
    if row is None:
        return None
    return OrderView(row["request_id"], row["revision"], row["vendor_id"], row["status"])


async def upsert_snapshot(
    uow: UnitOfWork, snapshot: dict[str, Any], *, status: str, strictly_newer: bool = False
) -> bool:
    """Keeps the newest revision; False when the incoming one is older than what we hold.

    ``strictly_newer`` keeps a late ``submitted`` from undoing the ``approved`` of the same revision.
    A cancelled order stays cancelled: the requests topic can run ahead of the approvals topic, so an
    ``approved`` may be read after the ``cancelled`` that followed it.
    """
    values = {
        "request_id": snapshot["request_id"],
        "revision": snapshot["revision"],
        "vendor_id": snapshot.get("vendor_id"),
        "status": status,
        "snapshot": snapshot,
    }
    stmt = pg_insert(order_view).values(**values)
    upsert = stmt.on_conflict_do_update(
        index_elements=["request_id"],
        set_={
            **{k: stmt.excluded[k] for k in ("revision", "vendor_id", "status", "snapshot")},
            "updated_at": func.now(),
        },
        where=and_(
            order_view.c.status != CANCELLED,
            (order_view.c.revision < stmt.excluded.revision)
            if strictly_newer
            else (order_view.c.revision <= stmt.excluded.revision),
        ),
    ).returning(order_view.c.request_id)
    return (await uow.session.execute(upsert)).scalar_one_or_none() is not None


async def get_vendor(uow: UnitOfWork, vendor_id: str | None) -> RowMapping | None:
    if not vendor_id:
        return None
    return (await uow.session.execute(select(vendor).where(vendor.c.id == vendor_id))).mappings().first()


def _failed(cause: CloudEvent, *, request_id: str, recipient: str, template: str, error: str) -> CloudEvent:
    data = {
        "schema_version": 1,
        "delivery_id": None,
        "request_id": request_id,
        "channel": "email",
        "recipient": recipient,
        "template": template,
        "attempts": 0,
        "error": error,
        "actor": system_actor(),
    }
    return new_event(type="notification.failed", service="notifications", subject=request_id, data=data, cause=cause)


async def send_order(*, uow: UnitOfWork, cause: CloudEvent, snapshot: dict[str, Any], settings: Settings) -> None:
    """Emails the order to every vendor contact with a signed answer link, and posts it to the vendor's webhook."""
    request_id, revision = snapshot["request_id"], int(snapshot["revision"])
    row = await get_vendor(uow, snapshot.get("vendor_id"))
    if row is None or row["status"] != "active":
        reason = "unknown vendor" if row is None else "the vendor is blocked"
        recipient = str(snapshot.get("vendor_id"))
        uow.publish(
            _failed(cause, request_id=request_id, recipient=recipient, template="purchase_order", error=reason),
            topic=TOPIC,
            key=request_id,
        )
        return
    url, expires = await create_link(
        session=uow.session,
        settings=settings,
        purpose="respond_order",
        request_id=request_id,
        revision=revision,
        vendor_id=row["id"],
    )
    context = {"vendor_name": row["legal_name"], "request": snapshot, "respond_url": url, "expires_at": expires.date()}
    for email in row["contact_emails"]:
        await enqueue_email(
            session=uow.session,
            cause=cause,
            template="purchase_order",
            language=row["language"],
            recipient=email,
            context=context,
            request_id=request_id,
            revision=revision,
            vendor_id=row["id"],
            notifies_vendor=True,
        )
    if row["webhook_url"]:
        payload = {"type": "purchase_order.approved", "vendor_id": row["id"], "order": snapshot, "respond_url": url}
        await enqueue_webhook(
            session=uow.session,
            cause=cause,
            template="purchase_order",
            url=row["webhook_url"],
            payload=payload,
            request_id=request_id,
            revision=revision,
            vendor_id=row["id"],
            notifies_vendor=True,
        )
    await uow.session.execute(
        order_view.update().where(order_view.c.request_id == request_id).values(sent_to_vendor_id=row["id"])
    )


async def withdraw_pending_orders(uow: UnitOfWork, *, request_id: str) -> None:
    """Order deliveries not sent yet (e.g. retrying) are withdrawn: the order changed under them."""
    await uow.session.execute(
        delivery.update()
        .where(
            delivery.c.request_id == request_id,
            delivery.c.template == "purchase_order",
            delivery.c.status.in_(("pending", "failed")),
        )
        .values(status="withdrawn", last_error="withdrawn: the order was cancelled or reassigned")
    )


async def order_reached_vendor(uow: UnitOfWork, *, request_id: str, vendor_id: str | None) -> bool:
    if vendor_id is None:
        return False
    found = await uow.session.scalar(
        select(vendor_notification.c.request_id)
        .where(vendor_notification.c.request_id == request_id, vendor_notification.c.vendor_id == vendor_id)
        .limit(1)
    )
    return found is not None
