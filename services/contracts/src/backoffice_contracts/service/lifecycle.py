"""The ends of a contract other than execution: voided when the order is cancelled, expired when unsigned."""

from __future__ import annotations

from datetime import datetime

from backoffice_common.events import CloudEvent
from backoffice_contracts.domain.contract import SYSTEM_ACTOR
from backoffice_contracts.schemas.events import PurchaseRequestCancelled
from backoffice_contracts.service.uow import ContractsUnitOfWork


async def void_for_cancellation(
    *, uow: ContractsUnitOfWork, cancelled: PurchaseRequestCancelled, cause: CloudEvent, now: datetime
) -> str:
    """Remember the cancellation and void every open contract of the request (the canceller is the actor).

    Called by the consumer, which commits; returns the inbox outcome.
    """
    uow.caused_by(cause)
    await uow.cancellations.record(
        request_id=cancelled.request_id, revision=cancelled.revision, reason=cancelled.reason
    )
    reason = f"purchase request cancelled: {cancelled.reason}" if cancelled.reason else "purchase request cancelled"
    actor = cancelled.actor if isinstance(cancelled.actor, dict) else SYSTEM_ACTOR
    voided = 0
    for contract in await uow.contracts.open_of_request(cancelled.request_id):
        if contract.void(reason=reason, now=now, actor=actor):
            await uow.contracts.save(contract)
            voided += 1
    return f"voided {voided}"


async def expire_due(*, uow: ContractsUnitOfWork, now: datetime, limit: int = 100) -> int:
    """Expire open contracts whose signing period ended and commit; concurrent instances claim disjoint rows."""
    due = await uow.contracts.due_for_expiry(now=now, limit=limit)
    for contract in due:
        if contract.expire(now=now):
            await uow.contracts.save(contract)
    await uow.commit()
    return len(due)
