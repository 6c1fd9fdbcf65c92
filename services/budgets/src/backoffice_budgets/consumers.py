"""Event entrypoints: a purchase-request event -> its payload -> one use case.

``purchase_request.submitted``, ``receipt_confirmed`` and ``closed`` come from the requests service
(``backoffice.requests``); ``approved`` and ``rejected`` from approvals (``backoffice.approvals``);
``cancelled`` from requests. A request's events on the two topics are serialised by the row lock on
its hold, and applied in their causal order (an event read before the one it depends on is held back:
domain/ordering.py, ``service.requests.handle``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, cast

from pydantic import BaseModel, Field

from backoffice_budgets.domain import ordering
from backoffice_budgets.domain.holds import RequestHold, Snapshot
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
    previous_status: str | None = Field(default=None, max_length=50)


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


def decode(event: CloudEvent, *, fx_max_age_days: int) -> service.Step:
    """A request event -> its Step: the payload checked (PermanentEventError if bad), the use case bound."""
    cause = cause_of(event)
    arrival = partial(ordering.Arrival, event.id, event.type)
    if event.type == "purchase_request.submitted":
        submitted = parse_payload(Submitted, event)
        snapshot = submitted.request.priced()
        on = (submitted.submitted_at or event.time).date()
        return service.Step(
            snapshot.request_id,
            on,
            arrival(revision=snapshot.revision),
            partial(_submitted, snapshot=snapshot, cause=cause, submitted_on=on, fx_max_age_days=fx_max_age_days),
        )
    if event.type == "purchase_request.approved":
        request = parse_payload(Approved, event).request
        complete = request.cost_center is not None and request.currency is not None and request.total is not None
        empty = Snapshot(request.request_id, request.revision, "", "", Decimal(0), {})
        priced = request.priced() if complete else empty
        on = event.time.date()
        return service.Step(
            request.request_id,
            on,
            arrival(revision=request.revision, priceable=complete),
            partial(_approved, snapshot=priced, cause=cause, approved_on=on, fx_max_age_days=fx_max_age_days),
        )
    day = event.time.date()
    if event.type in ("purchase_request.rejected", "purchase_request.cancelled"):
        ended = parse_payload(Ended, event)
        reason = event.type.removeprefix("purchase_request.")
        return service.Step(
            ended.request_id,
            day,
            arrival(revision=ended.revision, after_approval=ordering.after_approval(event.type, ended.previous_status)),
            partial(_released, request_id=ended.request_id, revision=ended.revision, reason=reason, cause=cause),
        )
    if event.type == "purchase_request.receipt_confirmed":
        receipt = parse_payload(ReceiptConfirmed, event)
        quantities: dict[int, Decimal] = {}
        for line in receipt.lines:
            quantities[line.line_no] = quantities.get(line.line_no, Decimal(0)) + line.quantity_received
        return service.Step(
            receipt.request_id,
            day,
            arrival(after_approval=True),
            partial(_received, request_id=receipt.request_id, quantities=quantities, cause=cause),
        )
    if event.type == "purchase_request.closed":
        closed = parse_payload(Closed, event)
        return service.Step(
            closed.request_id,
            day,
            arrival(after_approval=True),
            partial(_closed, request_id=closed.request_id, short=closed.short_closed, cause=cause),
        )
    raise PermanentEventError(f"budgets does not handle {event.type}")


async def _submitted(uow: BudgetsUnitOfWork, hold: RequestHold, **kw: Any) -> str:
    return await service.submitted(uow=uow, hold=hold, **kw)


async def _approved(uow: BudgetsUnitOfWork, hold: RequestHold, **kw: Any) -> str:
    return await service.approved(uow=uow, hold=hold, **kw)


async def _released(uow: BudgetsUnitOfWork, hold: RequestHold, **kw: Any) -> str:
    return await service.released(uow=uow, hold=hold, **kw)


async def _received(uow: BudgetsUnitOfWork, hold: RequestHold, **kw: Any) -> str:
    return await service.received(uow=uow, hold=hold, **kw)


async def _closed(uow: BudgetsUnitOfWork, hold: RequestHold, **kw: Any) -> str:
    return await service.closed(uow=uow, hold=hold, **kw)


async def on_request_event(event: CloudEvent, uow: UnitOfWork, *, fx_max_age_days: int) -> str:
    return await service.handle(
        uow=cast(BudgetsUnitOfWork, uow), event=event, decode=partial(decode, fx_max_age_days=fx_max_age_days)
    )


HANDLED = (
    "purchase_request.submitted",
    "purchase_request.approved",
    "purchase_request.rejected",
    "purchase_request.cancelled",
    "purchase_request.receipt_confirmed",
    "purchase_request.closed",
)


def handlers(*, fx_max_age_days: int) -> dict[str, Handler]:
    """The event types budgets handles; the settings a handler needs are bound here."""
    handler = partial(on_request_event, fx_max_age_days=fx_max_age_days)
    return dict.fromkeys(HANDLED, handler)
