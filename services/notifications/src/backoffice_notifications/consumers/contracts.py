"""backoffice.contracts: signing links for the vendor, the buyer signatory's email, requester updates."""

from __future__ import annotations

from datetime import datetime

from backoffice_common.events import CloudEvent, parse_payload
from backoffice_notifications.consumers.payloads import (
    ContractClosed,
    ContractExecuted,
    ContractGenerated,
    ContractSigned,
)
from backoffice_notifications.domain.contracts import Contract
from backoffice_notifications.service import contracts, notices
from backoffice_notifications.service.deliveries import Cause
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


def _when(value: str | None) -> datetime | None:
    """An ISO timestamp; an absent or unreadable one means no end of the signing period."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


async def generated(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    body = parse_payload(ContractGenerated, event)
    contract = Contract(
        contract_id=body.contract_id,
        request_id=body.request_id,
        vendor_id=body.vendor_id,
        document_sha256=body.document_sha256,
        document_url=body.document_url,
        expires_at=_when(body.expires_at),
    )
    await contracts.generated(
        uow,
        cause=Cause.of(event),
        contract=contract,
        revision=body.revision,
        language=body.language,
        signing_order=body.signing_order,
        settings=settings,
    )


async def signed(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    body = parse_payload(ContractSigned, event)
    await contracts.signed(
        uow,
        cause=Cause.of(event),
        contract_id=body.contract_id,
        party=body.party,
        signing_order=body.signing_order,
        awaiting=body.awaiting,
        settings=settings,
    )


async def executed(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    body = parse_payload(ContractExecuted, event)
    await contracts.executed(
        uow,
        cause=Cause.of(event),
        contract_id=body.contract_id,
        request_id=body.request_id,
        executed_sha256=body.executed_sha256,
        document_url=body.document_url,
        settings=settings,
    )


async def _closed(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings, status: str) -> None:
    body = parse_payload(ContractClosed, event)
    await notices.contract_closed(
        uow,
        cause=Cause.of(event),
        contract_id=body.contract_id,
        request_id=body.request_id,
        status=status,
        reason=body.reason,
        settings=settings,
    )


async def voided(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    await _closed(event, uow, settings, "voided")


async def expired(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    await _closed(event, uow, settings, "expired")


HANDLERS = {
    "contract.generated": generated,
    "contract.signed": signed,
    "contract.executed": executed,
    "contract.voided": voided,
    "contract.expired": expired,
}
