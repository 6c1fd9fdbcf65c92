"""A vendor's answer to an order or a contract, whichever way it arrived (webhook or link)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select

from backoffice_common.events import CloudEvent, new_event
from backoffice_common.problems import Problem
from backoffice_common.uow import UnitOfWork
from backoffice_notifications.deliveries.enqueue import enqueue_email
from backoffice_notifications.domain.orders import (
    ACCEPTED,
    CANCELLED,
    DECLINED,
    ResponseRefused,
    check_vendor_may_answer,
    vendor_actor,
)
from backoffice_notifications.flows.orders import as_view, get_order, get_vendor
from backoffice_notifications.models import contract_view, order_view
from backoffice_notifications.vendors.service import vendor_record

TOPIC = "backoffice.notifications"


def _conflict(detail: str) -> Problem:
    return Problem(409, "Conflict", detail, type="vendor-response-refused")


@dataclass(frozen=True)
class Signer:
    name: str
    email: str
    client_ip: str
    user_agent: str


async def answer_order(
    *,
    uow: UnitOfWork,
    request_id: str,
    vendor_id: str,
    accept: bool,
    expected_delivery: date | None = None,
    note: str = "",
    reason: str = "",
    revision: int | None = None,
) -> CloudEvent:
    order = await get_order(uow, request_id, lock=True)
    try:
        check_vendor_may_answer(as_view(order), vendor_id=vendor_id, revision=revision)
    except ResponseRefused as exc:
        raise _conflict(str(exc)) from exc
    assert order is not None
    vendor_row = await get_vendor(uow, vendor_id)
    if vendor_row is None:
        raise _conflict("unknown vendor")
    snapshot = order["snapshot"]
    actor = vendor_actor(vendor_id, vendor_row["legal_name"])
    if accept:
        data = {
            "schema_version": 1,
            "request": snapshot,
            "vendor": vendor_record(vendor_row),
            "expected_delivery": expected_delivery.isoformat() if expected_delivery else None,
            "note": note,
            "actor": actor,
        }
        event = new_event(type="vendor.accepted", service="notifications", subject=request_id, data=data)
    else:
        data = {
            "schema_version": 1,
            "request_id": request_id,
            "revision": order["revision"],
            "vendor_id": vendor_id,
            "reason": reason,
            "actor": actor,
        }
        event = new_event(type="vendor.declined", service="notifications", subject=request_id, data=data)
    await uow.session.execute(
        order_view.update().where(order_view.c.request_id == request_id).values(status=ACCEPTED if accept else DECLINED)
    )
    uow.publish(event, topic=TOPIC, key=request_id)
    requester = snapshot.get("requester") or {}
    await enqueue_email(
        session=uow.session,
        cause=event,
        template="vendor_accepted" if accept else "vendor_declined",
        language="en",
        recipient=requester.get("email", ""),
        request_id=request_id,
        context={
            "requester": requester,
            "number": snapshot.get("number", request_id),
            "vendor_name": vendor_row["legal_name"],
            "expected_delivery": data.get("expected_delivery"),
            "note": note,
            "reason": reason,
        },
    )
    return event


async def sign_contract(
    *, uow: UnitOfWork, contract_id: str, vendor_id: str, document_sha256: str, signer: Signer, channel: str
) -> CloudEvent:
    row = (
        (
            await uow.session.execute(
                select(contract_view).where(contract_view.c.contract_id == contract_id).with_for_update()
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise Problem(404, "Not Found", f"no contract {contract_id} awaits a signature", type="contract-not-found")
    if row["vendor_id"] != vendor_id:
        raise _conflict("this contract is not addressed to this vendor")
    if row["status"] != "awaiting_signature":
        raise _conflict(f"the contract does not wait for the vendor's signature (it is {row['status']})")
    now = datetime.now(UTC)
    if row["expires_at"] is not None and now >= row["expires_at"]:
        raise _conflict("the contract's signing period has ended")
    if document_sha256.lower() != row["document_sha256"].lower():
        raise _conflict("document_sha256 does not match the contract's document")
    order = await get_order(uow, row["request_id"])
    if order is not None and order["status"] == CANCELLED:
        raise _conflict("the order was cancelled")
    await uow.session.execute(
        contract_view.update().where(contract_view.c.contract_id == contract_id).values(status="signed", signed_at=now)
    )
    vendor_row = await get_vendor(uow, vendor_id)
    data = {
        "schema_version": 1,
        "contract_id": contract_id,
        "request_id": row["request_id"],
        "vendor_id": vendor_id,
        "document_sha256": row["document_sha256"],
        "signer_name": signer.name,
        "signer_email": signer.email,
        "signed_at": now.isoformat(),
        "client_ip": signer.client_ip,
        "user_agent": signer.user_agent[:500],
        "channel": channel,
        "actor": vendor_actor(vendor_id, vendor_row["legal_name"] if vendor_row else vendor_id),
    }
    event = new_event(type="vendor.contract_signed", service="notifications", subject=row["request_id"], data=data)
    uow.publish(event, topic=TOPIC, key=row["request_id"])
    return event
