"""Event entrypoints: each event's payload is parsed and handed to one use case in the consumer's unit of work.

The consumer (backoffice_common) claims the event in the inbox, calls the handler, stores the outcome the
handler returns and commits, all in that one unit of work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import cast

from backoffice_common.consumer import Handler, PermanentEventError
from backoffice_common.events import CloudEvent, parse_payload
from backoffice_common.uow import UnitOfWork
from backoffice_contracts import service
from backoffice_contracts.domain.errors import InvalidOrderData, TemplateError
from backoffice_contracts.schemas.events import (
    PurchaseRequestCancelled,
    RequestApproved,
    VendorAccepted,
    VendorContractSigned,
    VendorRecord,
)
from backoffice_contracts.service.ports import DocumentPort
from backoffice_contracts.service.uow import ContractsUnitOfWork
from backoffice_contracts.settings import Settings


async def on_vendor_accepted(
    event: CloudEvent, uow: ContractsUnitOfWork, *, settings: Settings, documents: DocumentPort
) -> str:
    accepted = parse_payload(VendorAccepted, event)
    try:
        return await service.generate_contract(
            uow=uow, settings=settings, documents=documents, accepted=accepted, cause=event, now=datetime.now(UTC)
        )
    except (InvalidOrderData, TemplateError) as exc:
        raise PermanentEventError(str(exc)) from exc


async def on_vendor_contract_signed(
    event: CloudEvent, uow: ContractsUnitOfWork, *, settings: Settings, documents: DocumentPort
) -> str:
    signed = parse_payload(VendorContractSigned, event)
    return await service.record_vendor_signature(
        uow=uow, settings=settings, documents=documents, signed=signed, cause=event, now=datetime.now(UTC)
    )


async def on_request_cancelled(event: CloudEvent, uow: ContractsUnitOfWork) -> str:
    cancelled = parse_payload(PurchaseRequestCancelled, event)
    return await service.void_for_cancellation(uow=uow, cancelled=cancelled, cause=event, now=datetime.now(UTC))


async def on_request_approved(event: CloudEvent, uow: ContractsUnitOfWork) -> str:
    approved = parse_payload(RequestApproved, event)
    return await service.record_approval(uow=uow, approved=approved, now=datetime.now(UTC))


async def on_vendor_updated(event: CloudEvent, uow: ContractsUnitOfWork) -> str:
    return await service.update_vendor(uow=uow, record=parse_payload(VendorRecord, event))


def handlers(settings: Settings, documents: DocumentPort) -> dict[str, Handler]:
    """The ``HANDLERS`` map of this service, bound to its settings and document adapter."""
    bound: dict[str, Callable[[CloudEvent, ContractsUnitOfWork], Awaitable[str]]] = {
        "vendor.accepted": partial(on_vendor_accepted, settings=settings, documents=documents),
        "vendor.contract_signed": partial(on_vendor_contract_signed, settings=settings, documents=documents),
        "purchase_request.cancelled": on_request_cancelled,
        "purchase_request.approved": on_request_approved,
        "vendor.updated": on_vendor_updated,
    }
    # The consumer builds its units of work with ServiceSpec(uow_class=ContractsUnitOfWork).
    return {type_: cast(Callable[[CloudEvent, UnitOfWork], Awaitable[str | None]], h) for type_, h in bound.items()}
