"""Who took part in an order, as far as the events this service consumes tell: approvers and vendor admins."""

from __future__ import annotations

from datetime import datetime

from backoffice_contracts.domain.segregation import OrderParties
from backoffice_contracts.schemas.events import RequestApproved
from backoffice_contracts.service.uow import ContractsUnitOfWork


async def record_approval(*, uow: ContractsUnitOfWork, approved: RequestApproved, now: datetime) -> str:
    """Remember who approved the request (``purchase_request.approved``); the consumer commits."""
    approver_ids = sorted({person.id for person in approved.approvers})
    await uow.approvals.record(
        request_id=approved.request.request_id,
        chain_id=approved.chain_id,
        revision=approved.request.revision,
        approver_ids=approver_ids,
        approved_at=now,
    )
    return f"approvers recorded: {len(approver_ids)}"


async def parties_of(uow: ContractsUnitOfWork, *, request_id: str, requester_id: str, vendor_id: str) -> OrderParties:
    vendor = await uow.vendors.get(vendor_id)
    return OrderParties(
        requester_id=requester_id,
        approvers=await uow.approvals.approvers(request_id),
        vendor_credential_administrators=frozenset((vendor or {}).get("credential_administrators") or ()),
    )
