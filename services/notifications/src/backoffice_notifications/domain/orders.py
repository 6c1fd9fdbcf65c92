"""The order as the notifications service sees it (a read model of requests' snapshots), and who may answer it when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from backoffice_notifications.domain.errors import ResponseRefused
from backoffice_notifications.domain.events import DomainEvent, system_actor, vendor_actor

IN_APPROVAL = "in_approval"
AWAITING_VENDOR = "awaiting_vendor"
ACCEPTED = "accepted"
DECLINED = "declined"
CANCELLED = "cancelled"

__all__ = ["ResponseRefused"]


@dataclass(frozen=True)
class OrderView:
    request_id: str
    revision: int
    vendor_id: str | None
    status: str


def check_vendor_may_answer(order: OrderView | None, *, vendor_id: str, revision: int | None = None) -> OrderView:
    if order is None:
        raise ResponseRefused("no order was sent for this request")
    if order.vendor_id != vendor_id:
        raise ResponseRefused("this order was not sent to this vendor")
    if order.status != AWAITING_VENDOR:
        raise ResponseRefused(f"the order does not wait for the vendor (it is {order.status})")
    if revision is not None and revision != order.revision:
        raise ResponseRefused(f"the link is for revision {revision}; the order is at revision {order.revision}")
    return order


def newer(incoming_revision: int, current_revision: int | None) -> bool:
    return current_revision is None or incoming_revision >= current_revision


@dataclass(frozen=True)
class Answer:
    """A vendor's answer to an order: accept (with an optional date and note) or decline (with a reason)."""

    accept: bool
    expected_delivery: date | None = None
    note: str = ""
    reason: str = ""


@dataclass
class Order:
    request_id: str
    revision: int
    vendor_id: str | None
    status: str
    snapshot: dict[str, Any]
    sent_to_vendor_id: str | None = None
    events: list[DomainEvent] = field(default_factory=list)

    @property
    def view(self) -> OrderView:
        return OrderView(self.request_id, self.revision, self.vendor_id, self.status)

    @property
    def number(self) -> str:
        return str(self.snapshot.get("number") or self.request_id)

    @property
    def requester(self) -> dict[str, Any]:
        requester: dict[str, Any] = self.snapshot.get("requester") or {}
        return requester

    def waits_for(self, vendor_id: str) -> bool:
        return self.status == AWAITING_VENDOR and self.vendor_id == vendor_id

    def sent_to(self, vendor_id: str) -> None:
        self.sent_to_vendor_id = vendor_id

    def cancel(self) -> None:
        self.status = CANCELLED

    def answer(
        self, answer: Answer, *, vendor_id: str, vendor_record: dict[str, Any], revision: int | None = None
    ) -> DomainEvent:
        """The vendor's answer; refused unless the order waits for this vendor (at this revision)."""
        check_vendor_may_answer(self.view, vendor_id=vendor_id, revision=revision)
        actor = vendor_actor(vendor_id, vendor_record["legal_name"])
        self.status = ACCEPTED if answer.accept else DECLINED
        if answer.accept:
            data: dict[str, Any] = {
                "request": self.snapshot,
                "vendor": vendor_record,
                "expected_delivery": answer.expected_delivery.isoformat() if answer.expected_delivery else None,
                "note": answer.note,
            }
            return self._record("vendor.accepted", {**data, "actor": actor})
        refusal = {"request_id": self.request_id, "revision": self.revision, "vendor_id": vendor_id}
        return self._record("vendor.declined", {**refusal, "reason": answer.reason, "actor": actor})

    def undeliverable(self, *, vendor_id: str | None, error: str, cause_id: str, correlation_id: str | None) -> None:
        """No delivery could even be created for the order (unknown or blocked vendor)."""
        data = {
            "delivery_id": None,
            "request_id": self.request_id,
            "channel": "email",
            "recipient": str(vendor_id),
            "template": "purchase_order",
            "attempts": 0,
            "error": error,
            "actor": system_actor(),
        }
        self._record("notification.failed", data, causation_id=cause_id, correlation_id=correlation_id)

    def _record(
        self, type_: str, data: dict[str, Any], *, causation_id: str | None = None, correlation_id: str | None = None
    ) -> DomainEvent:
        event = DomainEvent(
            type=type_,
            subject=self.request_id,
            data={"schema_version": 1, **data},
            causation_id=causation_id,
            correlation_id=correlation_id,
        )
        self.events.append(event)
        return event
