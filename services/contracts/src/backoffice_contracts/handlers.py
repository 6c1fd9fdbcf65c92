"""Consumers: each event becomes one use-case call inside the consumer's unit of work."""

from __future__ import annotations

from datetime import UTC, datetime

from backoffice_common.consumer import Handler, PermanentEventError
from backoffice_common.events import CloudEvent
from backoffice_common.uow import UnitOfWork
from backoffice_contracts import repository, service
from backoffice_contracts.domain.document import InvalidOrderData, language_for
from backoffice_contracts.messages import (
    PurchaseRequestCancelled,
    VendorAccepted,
    VendorContractSigned,
    VendorRecord,
    parse,
)
from backoffice_contracts.pdf import TemplateError
from backoffice_contracts.runtime import Runtime


def build_handlers(runtime: Runtime) -> dict[str, Handler]:
    async def on_vendor_accepted(event: CloudEvent, uow: UnitOfWork) -> None:
        accepted = parse(VendorAccepted, event.data)
        try:
            outcome = await service.generate_contract(
                uow=uow, runtime=runtime, accepted=accepted, cause=event, now=datetime.now(UTC)
            )
        except (InvalidOrderData, TemplateError) as exc:
            raise PermanentEventError(str(exc)) from exc
        await _finish(uow, event, outcome)

    async def on_vendor_contract_signed(event: CloudEvent, uow: UnitOfWork) -> None:
        signed = parse(VendorContractSigned, event.data)
        outcome = await service.record_vendor_signature(
            uow=uow, runtime=runtime, signed=signed, cause=event, now=datetime.now(UTC)
        )
        await _finish(uow, event, outcome)

    async def on_request_cancelled(event: CloudEvent, uow: UnitOfWork) -> None:
        cancelled = parse(PurchaseRequestCancelled, event.data)
        outcome = await service.void_for_cancellation(uow=uow, cancelled=cancelled, cause=event, now=datetime.now(UTC))
        await _finish(uow, event, outcome)

    async def on_vendor_updated(event: CloudEvent, uow: UnitOfWork) -> None:
        record = parse(VendorRecord, event.data)
        await repository.upsert_vendor(
            uow.session,
            {
                "vendor_id": record.vendor_id,
                "legal_name": record.legal_name,
                "address": record.address_text,
                "contact_emails": record.contact_emails,
                "language": language_for(record.language),
                "status": record.status[:20],
                "updated_at": record.updated_at,
            },
        )
        await _finish(uow, event, "vendor read model updated")

    return {
        "vendor.accepted": on_vendor_accepted,
        "vendor.contract_signed": on_vendor_contract_signed,
        "purchase_request.cancelled": on_request_cancelled,
        "vendor.updated": on_vendor_updated,
    }


async def _finish(uow: UnitOfWork, event: CloudEvent, outcome: str) -> None:
    await uow.set_outcome(event=event, outcome=outcome)
