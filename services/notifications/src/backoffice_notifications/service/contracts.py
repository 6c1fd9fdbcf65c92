"""The contract read model kept from contracts' events: signing links for the vendor, and who hears what."""

from __future__ import annotations

from typing import Any

from backoffice_notifications.domain.contracts import Contract
from backoffice_notifications.domain.vendors import Vendor
from backoffice_notifications.service import deliveries, links
from backoffice_notifications.service.deliveries import Cause, Target, VendorMessage
from backoffice_notifications.service.links import NewLink
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


async def generated(
    uow: NotificationsUnitOfWork,
    *,
    cause: Cause,
    contract: Contract,
    revision: int | None,
    language: str | None,
    settings: Settings,
) -> None:
    """The vendor gets a single-use signing link (email and webhook), the buyer signatory and the requester an email."""
    await uow.contracts.add(contract)
    request_id = contract.request_id
    order = await uow.orders.get(request_id)
    common = {
        "contract_id": contract.contract_id,
        "number": order.number if order else request_id,
        "document_sha256": contract.document_sha256,
        "document_url": contract.document_url,
    }
    vendor = await uow.vendors.get(contract.vendor_id)
    if vendor is not None:
        link = await links.create_link(
            uow,
            settings=settings,
            purpose="sign_contract",
            request_id=request_id,
            revision=revision or (order.revision if order else 0),
            vendor_id=vendor.id,
            contract_id=contract.contract_id,
            expires_at=contract.expires_at,
        )
        message = _ready_to_sign(vendor, link, common, request_id=request_id, language=language)
        await deliveries.notify_vendor(
            uow, cause=cause, vendor=vendor, message=message, target=Target(request_id, vendor_id=vendor.id)
        )
    await deliveries.staff_email(
        uow,
        cause=cause,
        template="contract_ready_buyer",
        recipient=settings.buyer_signatory_email,
        context=common,
        request_id=request_id,
    )
    if order is not None:
        await deliveries.staff_email(
            uow,
            cause=cause,
            template="contract_ready_requester",
            recipient=order.requester.get("email", ""),
            context=common | {"requester": order.requester},
            request_id=request_id,
        )


def _ready_to_sign(
    vendor: Vendor, link: NewLink, common: dict[str, Any], *, request_id: str, language: str | None
) -> VendorMessage:
    return VendorMessage(
        template="contract_ready_vendor",
        language=language,
        context=common | {"vendor_name": vendor.legal_name, "sign_url": link.url, "expires_at": link.expires_at.date()},
        webhook_template="contract_ready",
        webhook_payload={
            "type": "contract.ready_to_sign",
            "vendor_id": vendor.id,
            "request_id": request_id,
            "sign_url": link.url,
            **common,
        },
    )


async def executed(
    uow: NotificationsUnitOfWork,
    *,
    cause: Cause,
    contract_id: str,
    request_id: str,
    executed_sha256: str,
    document_url: str | None,
) -> None:
    """The requester hears the contract is executed; the vendor gets the executed document when there is one."""
    vendor_id = await uow.contracts.set_status(contract_id, "executed")
    order = await uow.orders.get(request_id)
    number = order.number if order else request_id
    if order is not None:
        await deliveries.staff_email(
            uow,
            cause=cause,
            template="contract_executed",
            recipient=order.requester.get("email", ""),
            context={"requester": order.requester, "number": number, "executed_sha256": executed_sha256},
            request_id=request_id,
        )
    vendor = await uow.vendors.get(vendor_id)
    if vendor is not None and document_url:
        context = {
            "vendor_name": vendor.legal_name,
            "number": number,
            "executed_sha256": executed_sha256,
            "document_url": document_url,
        }
        message = VendorMessage(template="contract_executed_vendor", context=context)
        await deliveries.notify_vendor(
            uow, cause=cause, vendor=vendor, message=message, target=Target(request_id, vendor_id=vendor.id)
        )
