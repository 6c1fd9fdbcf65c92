"""Generating the contract of an accepted order, and keeping the vendor read model it is drafted from."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from backoffice_common.events import CloudEvent
from backoffice_contracts.domain.contract import Contract, Draft, SigningOrder
from backoffice_contracts.domain.document import PartyDetails, contract_data, language_for, sha256
from backoffice_contracts.schemas.events import VendorAccepted, VendorRecord
from backoffice_contracts.service.access import document_link
from backoffice_contracts.service.ports import DocumentPort
from backoffice_contracts.service.uow import ContractsUnitOfWork
from backoffice_contracts.settings import Settings


async def update_vendor(*, uow: ContractsUnitOfWork, record: VendorRecord) -> str:
    """Merge a vendor record into the read model (the newest ``updated_at`` wins)."""
    await uow.vendors.upsert(
        {
            "vendor_id": record.vendor_id,
            "legal_name": record.legal_name,
            "address": record.address_text,
            "contact_emails": record.contact_emails,
            "language": language_for(record.language),
            "status": record.status[:20],
            "credential_administrators": sorted(set(record.credential_administrators)),
            "updated_at": record.updated_at,
        }
    )
    return "vendor read model updated"


async def generate_contract(
    *,
    uow: ContractsUnitOfWork,
    settings: Settings,
    documents: DocumentPort,
    accepted: VendorAccepted,
    cause: CloudEvent | None,
    now: datetime,
) -> str:
    """Draft the contract of one request revision, once, voiding older open drafts; returns the inbox outcome.

    Called by the consumer, which commits (the inbox claim and these effects are one transaction).
    """
    uow.caused_by(cause)
    request = accepted.request
    if await uow.cancellations.is_cancelled(request.request_id):
        return "ignored: the request was cancelled"
    newest = await uow.contracts.newest_revision(request.request_id)
    if newest is not None and newest >= request.revision:
        return f"ignored: a contract for revision {newest} exists"
    await update_vendor(uow=uow, record=accepted.vendor)
    vendor = await uow.vendors.get(accepted.vendor.vendor_id)
    assert vendor is not None
    language = language_for(vendor["language"])
    template = await uow.templates.active(language)
    if template is None:
        raise RuntimeError(f"no active contract template for language {language!r}")
    contract_id = str(uuid.uuid4())
    data = _contract_data(contract_id, language, accepted, vendor, template["version"], settings, now)
    document = await asyncio.to_thread(documents.render, template["body"], data, at=now)
    expires_at = now + timedelta(hours=settings.signature_ttl_hours)
    for older in await uow.contracts.open_of_request(request.request_id, before_revision=request.revision):
        older.supersede(by_revision=request.revision, now=now)
        await uow.contracts.save(older)
    link_expiry = min(expires_at, now + timedelta(hours=settings.document_link_ttl_hours))
    contract = Contract.generate(
        id=contract_id,
        request_id=request.request_id,
        revision=request.revision,
        request_number=request.number,
        vendor_id=accepted.vendor.vendor_id,
        requester_id=request.requester.id,
        language=language,
        template_version=template["version"],
        signing_order=SigningOrder(settings.signing_order),
        draft=Draft(document=document, data=data),
        document_sha256=sha256(document),
        generated_at=now,
        expires_at=expires_at,
        document_url=document_link(settings, contract_id=contract_id, scope="draft", expires_at=link_expiry),
    )
    await uow.contracts.add(contract)
    return f"generated {contract_id}"


def _contract_data(
    contract_id: str,
    language: str,
    accepted: VendorAccepted,
    vendor: dict[str, Any],
    template_version: int,
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    return contract_data(
        contract_id=contract_id,
        language=language,
        request=accepted.request.model_dump(mode="json"),
        vendor=PartyDetails(
            name=vendor["legal_name"], address=vendor["address"], email=next(iter(vendor["contact_emails"]), "")
        ),
        buyer=PartyDetails(name=settings.buyer_legal_name, address=settings.buyer_address),
        expected_delivery=accepted.expected_delivery.isoformat() if accepted.expected_delivery else None,
        note=accepted.note or "",
        issued_on=now.date(),
        template_version=template_version,
    )
