"""Signatures: the buyer's through the API, the vendor's from an event; the second one executes the contract."""

from __future__ import annotations

from datetime import datetime

from backoffice_common.auth import User
from backoffice_common.events import CloudEvent
from backoffice_contracts.domain.errors import (
    ContractNotFound,
    NotABuyerSignatory,
    SignatureRefused,
    VendorBlocked,
    WrongVendor,
)
from backoffice_contracts.domain.segregation import check_buyer_signer
from backoffice_contracts.domain.signature import Party, Refusal, Signature, vendor_actor
from backoffice_contracts.schemas.events import VendorContractSigned
from backoffice_contracts.service.access import buyer_signer_role, may_read, may_sign_for_buyer
from backoffice_contracts.service.execution import execute_when_fully_signed
from backoffice_contracts.service.parties import parties_of
from backoffice_contracts.service.ports import DocumentPort
from backoffice_contracts.service.uow import ContractsUnitOfWork
from backoffice_contracts.settings import Settings


async def sign_as_buyer(
    *,
    uow: ContractsUnitOfWork,
    settings: Settings,
    documents: DocumentPort,
    contract_id: str,
    user: User,
    document_sha256: str,
    client_ip: str | None,
    user_agent: str | None,
    now: datetime,
) -> None:
    """Record the buyer's signature and commit; raises (nothing written) when it may not be recorded."""
    contract = await uow.contracts.get(contract_id, for_update=True)
    if contract is None or not may_read(user, {"requester_id": contract.requester_id}, settings):
        raise ContractNotFound(contract_id)
    if not may_sign_for_buyer(user, settings):
        raise NotABuyerSignatory("only procurement or a configured buyer signatory signs for the buyer")
    parties = await parties_of(
        uow, request_id=contract.request_id, requester_id=contract.requester_id, vendor_id=contract.vendor_id
    )
    check_buyer_signer(user.sub, parties)
    signature = Signature(
        party=Party.BUYER,
        signer_id=user.sub,
        signer_name=user.name or user.sub,
        signer_email=user.email,
        role=buyer_signer_role(user),
        document_sha256=document_sha256.lower(),
        signed_at=now,
        client_ip=client_ip,
        user_agent=(user_agent or "")[:500] or None,
        channel="api",
    )
    contract.sign(signature, now=now)
    await execute_when_fully_signed(uow, settings, documents, contract, now=now)
    await uow.contracts.save(contract)
    await uow.commit()


async def record_vendor_signature(
    *,
    uow: ContractsUnitOfWork,
    settings: Settings,
    documents: DocumentPort,
    signed: VendorContractSigned,
    cause: CloudEvent,
    now: datetime,
) -> str:
    """Record the vendor's signature if it is for this vendor's current document, otherwise the refusal.

    Called by the consumer, which commits; returns the inbox outcome.
    """
    uow.caused_by(cause)
    vendor = await uow.vendors.get(signed.vendor_id)
    signature = Signature(
        party=Party.VENDOR,
        signer_id=signed.signer_email or signed.signer_name,
        signer_name=signed.signer_name,
        signer_email=signed.signer_email,
        role="vendor",
        document_sha256=signed.document_sha256.lower(),
        signed_at=signed.signed_at,
        client_ip=signed.client_ip,
        user_agent=signed.user_agent,
        channel=signed.channel,
        event_id=cause.id,
        acting_for=vendor_actor(signed.vendor_id, vendor["legal_name"] if vendor else signed.signer_name),
    )
    contract = await uow.contracts.get(signed.contract_id, for_update=True)
    try:
        if contract is None:
            raise WrongVendor("no such contract")
        if contract.vendor_id != signed.vendor_id or contract.request_id != signed.request_id:
            raise WrongVendor("the contract belongs to another vendor or request")
        # ``vendor`` is the contract's vendor (checked just above): read once, for the actor and this check.
        if vendor is not None and vendor.get("status") == "blocked":
            raise VendorBlocked("the vendor is blocked: its signature is not recorded")
        contract.sign(signature, now=now)
    except SignatureRefused as refused:
        await uow.contracts.add_refusal(_refusal(signed, refused, event_id=cause.id, now=now))
        return f"refused: {refused.code}"
    await execute_when_fully_signed(uow, settings, documents, contract, now=now)
    await uow.contracts.save(contract)
    return "signed"


def _refusal(signed: VendorContractSigned, refused: SignatureRefused, *, event_id: str, now: datetime) -> Refusal:
    return Refusal(
        contract_id=signed.contract_id,
        party=Party.VENDOR,
        signer_name=signed.signer_name,
        signer_email=signed.signer_email,
        document_sha256=signed.document_sha256,
        reason=refused.code,
        detail=refused.message,
        client_ip=signed.client_ip,
        user_agent=signed.user_agent,
        channel=signed.channel,
        event_id=event_id,
        refused_at=now,
    )
