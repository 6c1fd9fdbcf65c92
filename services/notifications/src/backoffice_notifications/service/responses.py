"""A vendor's answer to an order or a contract, whichever way it arrived (webhook or link)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from backoffice_notifications.domain.contracts import Signer
from backoffice_notifications.domain.errors import ContractNotFound, ResponseRefused
from backoffice_notifications.domain.events import DomainEvent
from backoffice_notifications.domain.orders import CANCELLED, Answer, check_vendor_may_answer
from backoffice_notifications.domain.vendors import Vendor
from backoffice_notifications.service import deliveries
from backoffice_notifications.service.deliveries import Cause
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


async def answer_order(
    uow: NotificationsUnitOfWork,
    *,
    request_id: str,
    vendor_id: str,
    answer: Answer,
    settings: Settings,
    revision: int | None = None,
    known: Vendor | None = None,
) -> DomainEvent:
    """vendor.accepted or vendor.declined, and the requester's email about it; the caller commits. ``known``: the
    vendor as this unit of work already read it (the webhook's authentication), not read again."""
    order = await uow.orders.get(request_id, lock=True)
    if order is None:
        raise ResponseRefused("no order was sent for this request")
    check_vendor_may_answer(order.view, vendor_id=vendor_id, revision=revision)
    vendor = await _vendor(uow, vendor_id, known)
    if vendor is None:
        raise ResponseRefused("unknown vendor")
    if not vendor.is_active:
        raise ResponseRefused("the vendor is blocked: it can no longer answer orders")
    event = order.answer(answer, vendor_id=vendor_id, vendor_record=vendor.record(), revision=revision)
    await uow.orders.save(order)
    await deliveries.staff_email(
        uow,
        cause=Cause.of(event),
        template="vendor_accepted" if answer.accept else "vendor_declined",
        recipient=order.requester.get("email", ""),
        language=order.requester.get("language"),
        context={
            "requester": order.requester,
            "number": order.number,
            "vendor_name": vendor.legal_name,
            "expected_delivery": event.data.get("expected_delivery"),
            "note": answer.note,
            "reason": answer.reason,
        },
        request_id=request_id,
        settings=settings,
    )
    return event


async def sign_contract(
    uow: NotificationsUnitOfWork,
    *,
    contract_id: str,
    vendor_id: str,
    document_sha256: str,
    signer: Signer,
    channel: str,
    known: Vendor | None = None,
) -> DomainEvent:
    """vendor.contract_signed; the caller commits. ``known``: as ``answer_order``'s."""
    contract = await uow.contracts.get(contract_id, lock=True)
    if contract is None:
        raise ContractNotFound(f"no contract {contract_id} awaits a signature")
    order = await uow.orders.get(contract.request_id)
    vendor = await _vendor(uow, vendor_id, known) if contract.vendor_id == vendor_id else None
    if vendor is not None and not vendor.is_active:
        raise ResponseRefused("the vendor is blocked: it can no longer sign contracts")
    event = contract.sign(
        vendor_id=vendor_id,
        vendor_name=vendor.legal_name if vendor else vendor_id,
        document_sha256=document_sha256,
        signer=signer,
        channel=channel,
        now=datetime.now(UTC),
        order_cancelled=order is not None and order.status == CANCELLED,
    )
    await uow.contracts.save(contract)
    return event


async def _vendor(uow: NotificationsUnitOfWork, vendor_id: str, known: Vendor | None) -> Vendor | None:
    return known if known is not None and known.id == vendor_id else await uow.vendors.get(vendor_id)


@dataclass(frozen=True)
class OrderAnswer:
    request_id: str
    answer: Answer
    revision: int | None = None
    """A link is bound to the revision it was sent for; a webhook answers the current one."""


@dataclass(frozen=True)
class ContractSignature:
    contract_id: str
    document_sha256: str
    signer: Signer


VendorCommand = OrderAnswer | ContractSignature


async def act(
    uow: NotificationsUnitOfWork,
    *,
    vendor_id: str,
    command: VendorCommand,
    channel: str,
    settings: Settings,
    known: Vendor | None = None,
) -> DomainEvent:
    """Carries out what the vendor sent; the caller commits (with the link or the webhook id it came with).
    ``known``: the vendor as this unit of work already read it (not read again)."""
    if isinstance(command, ContractSignature):
        return await sign_contract(
            uow,
            contract_id=command.contract_id,
            vendor_id=vendor_id,
            document_sha256=command.document_sha256,
            signer=command.signer,
            channel=channel,
            known=known,
        )
    return await answer_order(
        uow,
        request_id=command.request_id,
        vendor_id=vendor_id,
        answer=command.answer,
        revision=command.revision,
        settings=settings,
        known=known,
    )
