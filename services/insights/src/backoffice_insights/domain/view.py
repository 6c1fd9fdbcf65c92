"""What the read model knows about one request, derived only from its events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

STAGES = ("approval", "rework", "vendor_answer", "contracting", "delivery", "closing")
"""Disjoint stages of an order: together they make its cycle (first submission to closure)."""
CYCLE = "cycle"


@dataclass(frozen=True)
class Person:
    id: str
    name: str


@dataclass(frozen=True)
class Stage:
    name: str
    started_at: datetime
    ended_at: datetime
    seconds: float


@dataclass
class TaskView:
    task_id: str
    step: str
    assignee: Person
    assigned_at: datetime | None
    due_at: datetime | None = None
    on_behalf_of: Person | None = None
    decided_at: datetime | None = None
    decision: str | None = None
    closed_at: datetime | None = None
    closed_reason: str | None = None
    reminders: int = 0
    escalated_to: Person | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None


@dataclass
class VendorAnswer:
    seq: int
    vendor_id: str
    asked_at: datetime
    answered_at: datetime | None = None
    answer: str | None = None


@dataclass
class Signing:
    contract_id: str
    vendor_id: str | None = None
    generated_at: datetime | None = None
    vendor_signed_at: datetime | None = None
    buyer_signed_at: datetime | None = None
    executed_at: datetime | None = None
    ended: str | None = None


@dataclass(frozen=True)
class SpendLine:
    seq: int
    kind: str
    occurred_at: datetime
    currency: str
    amount: Decimal


@dataclass(frozen=True)
class FailedDelivery:
    event_id: str
    channel: str
    recipient: str
    template: str
    attempts: int
    error: str
    occurred_at: datetime


@dataclass(frozen=True)
class Waiting:
    """Who the request waits on now: ``kind`` is approver, requester, vendor, buyer, procurement or system."""

    kind: str
    who: tuple[Person, ...]
    since: datetime


@dataclass
class RequestView:
    request_id: str
    number: str = ""
    title: str = ""
    requester: Person | None = None
    department: str = ""
    cost_center: str = ""
    category: str = ""
    vendor_id: str = ""
    currency: str = ""
    total: Decimal | None = None
    amount_band: str = ""
    status: str = "unknown"
    revision: int = 0
    changes_requested: int = 0
    first_submitted_at: datetime | None = None
    approved_at: datetime | None = None
    accepted_at: datetime | None = None
    executed_at: datetime | None = None
    received_at: datetime | None = None
    closed_at: datetime | None = None
    ended_at: datetime | None = None
    last_event_at: datetime | None = None
    events: int = 0
    stages: list[Stage] = field(default_factory=list)
    tasks: list[TaskView] = field(default_factory=list)
    vendor_answers: list[VendorAnswer] = field(default_factory=list)
    signings: list[Signing] = field(default_factory=list)
    spend: list[SpendLine] = field(default_factory=list)
    failed_deliveries: list[FailedDelivery] = field(default_factory=list)
    waiting: Waiting | None = None
