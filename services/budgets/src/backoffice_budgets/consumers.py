"""Event entrypoints: a purchase-request event -> its payload -> one use case.

``purchase_request.submitted``, ``receipt_confirmed`` and ``closed`` come from the requests service
(``backoffice.requests``); ``approved`` and ``rejected`` from approvals (``backoffice.approvals``);
``cancelled`` from requests. A request's events on the two topics are serialised by the row lock on
its hold.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Annotated, cast

from pydantic import BaseModel, Field

from backoffice_budgets.domain.holds import Snapshot
from backoffice_budgets.domain.ledger import Cause
from backoffice_budgets.repository.uow import BudgetsUnitOfWork
from backoffice_budgets.service import requests as service
from backoffice_common.consumer import Handler
from backoffice_common.events import CloudEvent, PermanentEventError, parse_payload
from backoffice_common.uow import UnitOfWork

RequestId = Annotated[str, Field(min_length=1, max_length=100)]


class Line(BaseModel):
    line_no: int
    unit_price: Decimal = Field(allow_inf_nan=False)


class RequestSnapshot(BaseModel):
    request_id: RequestId
    revision: int = Field(ge=1)
    cost_center: str | None = Field(default=None, max_length=200)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    total: Decimal | None = Field(default=None, allow_inf_nan=False, ge=0)
    lines: list[Line] = []

    def priced(self) -> Snapshot:
        if self.cost_center is None or self.currency is None or self.total is None:
            raise PermanentEventError(f"the snapshot of {self.request_id} lacks cost_center, currency or total")
        return Snapshot(
            self.request_id,
            self.revision,
            self.cost_center,
            self.currency,
            self.total,
            {line.line_no: line.unit_price for line in self.lines},
        )


class Submitted(BaseModel):
    request: RequestSnapshot
    submitted_at: datetime | None = None


class Approved(BaseModel):
    request: RequestSnapshot


class Ended(BaseModel):
    request_id: RequestId
    revision: int | None = None


class ReceivedLine(BaseModel):
    line_no: int
    quantity_received: Decimal = Field(allow_inf_nan=False, ge=0)


class ReceiptConfirmed(BaseModel):
    request_id: RequestId
    lines: list[ReceivedLine]


class Closed(BaseModel):
    request_id: RequestId
    short_closed: bool = False


def cause_of(event: CloudEvent) -> Cause:
    return Cause(event.id, event.type, event.time, event.correlationid)


async def on_submitted(event: CloudEvent, uow: UnitOfWork, *, fx_max_age_days: int) -> str:
    payload = parse_payload(Submitted, event)
    on = (payload.submitted_at or event.time).date()
    return await service.submitted(
        uow=cast(BudgetsUnitOfWork, uow),
        snapshot=payload.request.priced(),
        cause=cause_of(event),
        submitted_on=on,
        fx_max_age_days=fx_max_age_days,
    )


async def on_approved(event: CloudEvent, uow: UnitOfWork, *, fx_max_age_days: int) -> str:
    payload = parse_payload(Approved, event)
    snapshot = payload.request
    complete = snapshot.cost_center is not None and snapshot.currency is not None and snapshot.total is not None
    priced = snapshot.priced() if complete else Snapshot(snapshot.request_id, snapshot.revision, "", "", Decimal(0), {})
    return await service.approved(
        uow=cast(BudgetsUnitOfWork, uow),
        snapshot=priced,
        cause=cause_of(event),
        approved_on=event.time.date(),
        fx_max_age_days=fx_max_age_days,
    )


async def on_ended(event: CloudEvent, uow: UnitOfWork, *, reason: str) -> str:
    payload = parse_payload(Ended, event)
    return await service.released(
        uow=cast(BudgetsUnitOfWork, uow),
        request_id=payload.request_id,
        revision=payload.revision,
        reason=reason,
        cause=cause_of(event),
    )


async def on_receipt(event: CloudEvent, uow: UnitOfWork) -> str:
    payload = parse_payload(ReceiptConfirmed, event)
    quantities: dict[int, Decimal] = {}
    for line in payload.lines:
        quantities[line.line_no] = quantities.get(line.line_no, Decimal(0)) + line.quantity_received
    return await service.received(
        uow=cast(BudgetsUnitOfWork, uow),
        request_id=payload.request_id,
        quantities=quantities,
        cause=cause_of(event),
    )


async def on_closed(event: CloudEvent, uow: UnitOfWork) -> str:
    payload = parse_payload(Closed, event)
    return await service.closed(
        uow=cast(BudgetsUnitOfWork, uow),
        request_id=payload.request_id,
        short=payload.short_closed,
        cause=cause_of(event),
    )


def handlers(*, fx_max_age_days: int) -> dict[str, Handler]:
    """The event types budgets handles; the settings a handler needs are bound here."""
    return {
        "purchase_request.submitted": partial(on_submitted, fx_max_age_days=fx_max_age_days),
        "purchase_request.approved": partial(on_approved, fx_max_age_days=fx_max_age_days),
        "purchase_request.rejected": partial(on_ended, reason="rejected"),
        "purchase_request.cancelled": partial(on_ended, reason="cancelled"),
        "purchase_request.receipt_confirmed": on_receipt,
        "purchase_request.closed": on_closed,
    }
