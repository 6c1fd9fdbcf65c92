"""Execution: when every party has signed, the draft plus a signature page is sealed and the contract executed."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from backoffice_contracts.domain.contract import Contract, SealedDocument
from backoffice_contracts.domain.document import sha256, signature_page_data
from backoffice_contracts.domain.errors import SealingFailed
from backoffice_contracts.service.access import document_link
from backoffice_contracts.service.ports import DocumentPort
from backoffice_contracts.service.uow import ContractsUnitOfWork
from backoffice_contracts.settings import Settings


async def execute_when_fully_signed(
    uow: ContractsUnitOfWork, settings: Settings, documents: DocumentPort, contract: Contract, *, now: datetime
) -> None:
    """Seal the draft plus a signature page and execute the contract, in the transaction of the last signature.

    If sealing fails, ``SealingFailed`` rolls the whole transaction back: the signature is not recorded either,
    so there is never a "fully signed but not executed" contract.
    """
    if not contract.fully_signed:
        return
    draft = await uow.contracts.draft_document(contract.id)
    try:
        executed = await asyncio.to_thread(documents.seal_executed, draft, signature_page_data(contract))
    except Exception as exc:
        reason = f"the executed contract could not be sealed: {exc!r}"[:500]
        raise SealingFailed(f"{reason}; the signature was not recorded, try again later") from exc
    expiry = now + timedelta(hours=settings.document_link_ttl_hours)
    url = document_link(settings, contract_id=contract.id, scope="executed", expires_at=expiry)
    contract.execute(SealedDocument(content=executed, sha256=sha256(executed)), at=now, document_url=url)
