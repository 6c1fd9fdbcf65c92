"""The contract read model kept from contracts' events: signing links for the vendor, and who hears what."""

from __future__ import annotations

from typing import Any

from backoffice_notifications.domain.contracts import Contract
from backoffice_notifications.domain.orders import Order
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
    signing_order: str = "any",
) -> None:
    """Each signer is told when it is their turn: at generation the party that signs first (both for ``any``):
    the vendor gets a single-use signing link (email and webhook), the buyer signatory an email. The requester
    hears the contract is being signed."""
    await uow.contracts.add(contract)
    # The order is read once for the three emails (it was read by each turn again: two statements a contract),
    # with the vendor in the same statement (a statement of its own before the tenth round).
    order, vendor = await uow.orders.get_with_vendor(contract.request_id, contract.vendor_id)
    if signing_order != "buyer_first":
        await _vendor_turn(
            uow,
            cause=cause,
            contract=contract,
            order=order,
            vendor=vendor,
            revision=revision,
            language=language,
            settings=settings,
        )
    if signing_order != "vendor_first":
        await _buyer_turn(uow, cause=cause, contract=contract, order=order, settings=settings)
    if order is not None:
        await deliveries.staff_email(
            uow,
            cause=cause,
            template="contract_ready_requester",
            recipient=order.requester.get("email", ""),
            language=order.requester.get("language"),
            context=_common(contract, order) | {"requester": order.requester},
            request_id=contract.request_id,
            settings=settings,
        )


async def signed(
    uow: NotificationsUnitOfWork,
    *,
    cause: Cause,
    contract_id: str,
    party: str,
    signing_order: str,
    awaiting: list[str],
    settings: Settings,
) -> None:
    """After the first signature of an ordered signing, the other party's turn has come: tell them."""
    buyer_next = signing_order == "vendor_first" and party == "vendor" and "buyer" in awaiting
    vendor_next = signing_order == "buyer_first" and party == "buyer" and "vendor" in awaiting
    if not (buyer_next or vendor_next):
        return  # nobody to tell (any order of signing, or the second signature): the contract is not read
    contract = await uow.contracts.get(contract_id)
    if contract is None or contract.status in ("voided", "expired", "executed"):
        return
    if buyer_next:
        order = await uow.orders.get(contract.request_id)
        await _buyer_turn(uow, cause=cause, contract=contract, order=order, settings=settings)
    if vendor_next:
        order, vendor = await uow.orders.get_with_vendor(contract.request_id, contract.vendor_id)
        await _vendor_turn(
            uow,
            cause=cause,
            contract=contract,
            order=order,
            vendor=vendor,
            revision=None,
            language=None,
            settings=settings,
        )


def _common(contract: Contract, order: Any) -> dict[str, Any]:
    return {
        "contract_id": contract.contract_id,
        "number": order.number if order else contract.request_id,
        "document_sha256": contract.document_sha256,
        "document_url": contract.document_url,
    }


async def _buyer_turn(
    uow: NotificationsUnitOfWork, *, cause: Cause, contract: Contract, order: Order | None, settings: Settings
) -> None:
    await deliveries.staff_email(
        uow,
        cause=cause,
        template="contract_ready_buyer",
        recipient=settings.buyer_signatory_email,
        language=settings.buyer_signatory_language,
        context=_common(contract, order),
        request_id=contract.request_id,
        settings=settings,
    )


async def _vendor_turn(
    uow: NotificationsUnitOfWork,
    *,
    cause: Cause,
    contract: Contract,
    order: Order | None,
    vendor: Vendor | None,
    revision: int | None,
    language: str | None,
    settings: Settings,
) -> None:
    """``vendor``: the contract's, as read with the order (None: unknown)."""
    if vendor is None:
        return
    link = await links.create_link(
        uow,
        settings=settings,
        purpose="sign_contract",
        request_id=contract.request_id,
        revision=revision or (order.revision if order else 0),
        vendor_id=vendor.id,
        contract_id=contract.contract_id,
        expires_at=contract.expires_at,
    )
    message = _ready_to_sign(vendor, link, _common(contract, order), request_id=contract.request_id, language=language)
    await deliveries.notify_vendor(
        uow, cause=cause, vendor=vendor, message=message, target=Target(contract.request_id, vendor_id=vendor.id)
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
    settings: Settings,
) -> None:
    """The requester hears the contract is executed; the vendor gets the executed document when there is one."""
    vendor_id = await uow.contracts.set_status(contract_id, "executed")
    order, vendor = await uow.orders.get_with_vendor(request_id, vendor_id)  # one statement (two before)
    number = order.number if order else request_id
    if order is not None:
        await deliveries.staff_email(
            uow,
            cause=cause,
            template="contract_executed",
            recipient=order.requester.get("email", ""),
            language=order.requester.get("language"),
            context={"requester": order.requester, "number": number, "executed_sha256": executed_sha256},
            request_id=request_id,
            settings=settings,
        )
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
