"""An event as the read model keeps it: a fact about one request, placed in time by its ``time``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Within the same instant, the lifecycle order decides (clocks of different services tie at
# millisecond precision now and then); the event id breaks any remaining tie, so the order
# of a request's facts never depends on their arrival.
LIFECYCLE_RANK: dict[str, int] = {
    "purchase_request.revised": 0,
    "purchase_request.submitted": 1,
    "approval.task_assigned": 2,
    "approval.reminder_due": 3,
    "approval.escalated": 4,
    "approval.task_decided": 5,
    "approval.task_withdrawn": 6,
    "purchase_request.changes_requested": 7,
    "purchase_request.rejected": 7,
    "purchase_request.approved": 7,
    "vendor.notified": 8,
    "notification.failed": 8,
    "vendor.declined": 9,
    "purchase_request.vendor_reassigned": 10,
    "vendor.accepted": 11,
    "contract.generated": 12,
    "contract.signed": 13,
    "vendor.contract_signed": 13,
    "contract.expired": 14,
    "contract.voided": 14,
    "contract.executed": 15,
    "purchase_request.receipt_confirmed": 16,
    "purchase_request.closed": 17,
    "purchase_request.cancelled": 18,
}

REQUEST_EVENT_TYPES = frozenset(LIFECYCLE_RANK)
VENDOR_UPDATED = "vendor.updated"


@dataclass(frozen=True)
class Fact:
    event_id: str
    type: str
    time: datetime
    request_id: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> tuple[datetime, int, str]:
        return (self.time, LIFECYCLE_RANK.get(self.type, 99), self.event_id)


@dataclass(frozen=True)
class VendorFact:
    """The latest ``vendor.updated`` wins, by event time (the topic is compacted and may be replayed)."""

    vendor_id: str
    legal_name: str
    status: str
    time: datetime
    event_id: str

    def newer_than(self, other: VendorFact | None) -> bool:
        return other is None or (self.time, self.event_id) > (other.time, other.event_id)


@dataclass(frozen=True)
class Pending:
    """A request queued for folding, at the version of its queue row (bumped by every new fact)."""

    request_id: str
    version: int
