"""API models of the insights service (all answers are read models: ``XRead``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from backoffice_common.strings import SafeText

Seconds = float | None


class CycleTimeRow(BaseModel):
    group: str
    stage: str
    requests: int
    p50_seconds: float
    p90_seconds: float
    max_seconds: float


class CycleTimesRead(BaseModel):
    group_by: str
    period: str | None
    rows: list[CycleTimeRow]


class StageShareRow(BaseModel):
    stage: str
    requests: int
    total_seconds: float
    p50_seconds: float
    share: float = Field(description="this stage's part of all waiting time, 0..1")


class StageSharesRead(BaseModel):
    rows: list[StageShareRow]


class ApproverRow(BaseModel):
    approver_id: str
    approver_name: str
    decided: int
    median_response_seconds: Seconds
    open_tasks: int
    oldest_open_task_seconds: Seconds
    reminders: int
    escalations: int
    delegations: int = Field(description="tasks a delegate received on this approver's behalf")


class ApproversRead(BaseModel):
    as_of: datetime
    rows: list[ApproverRow]


class VendorRow(BaseModel):
    vendor_id: str
    vendor_name: str
    asked: int
    accepted: int
    declined: int
    median_answer_seconds: Seconds
    max_answer_seconds: Seconds
    signed: int
    median_signing_seconds: Seconds


class VendorsRead(BaseModel):
    rows: list[VendorRow]


class RevisionRow(BaseModel):
    request_id: str
    number: str
    title: str
    department: str
    changes_requested: int
    revision: int
    rework_seconds: float


class RevisionsRead(BaseModel):
    requests_sent_back: int
    changes_requested: int
    rows: list[RevisionRow]


class FailedDeliveryRow(BaseModel):
    event_id: str
    request_id: str
    number: str | None
    channel: str
    recipient: str
    template: str
    attempts: int
    retried: bool
    error: str
    occurred_at: datetime


class FailedDeliveriesRead(BaseModel):
    rows: list[FailedDeliveryRow]


class TaskSlaRow(BaseModel):
    key: str
    approver_name: str | None
    tasks: int
    decided: int
    decided_within_due: int
    within_due_share: float | None
    escalated: int
    open_overdue: int


class TaskSlaRead(BaseModel):
    by: str
    as_of: datetime
    rows: list[TaskSlaRow]


class WaitingPerson(BaseModel):
    id: str
    name: str


class OpenRequestRow(BaseModel):
    request_id: str
    number: str
    title: str
    department: str
    status: str
    first_submitted_at: datetime
    age_seconds: float
    waiting_kind: str | None = Field(description="approver, requester, vendor, buyer, procurement or system")
    waiting_who: list[WaitingPerson]
    waiting_since: datetime | None
    waiting_seconds: float | None


class OpenRequestsRead(BaseModel):
    as_of: datetime
    older_than_hours: float
    rows: list[OpenRequestRow]


class SpendRow(BaseModel):
    group: str
    month: str = Field(description="YYYY-MM, empty when not split by month")
    committed: str = Field(description="decimal string in the reporting currency")
    received: str


class UnconvertedRow(BaseModel):
    group: str
    month: str
    kind: str
    currency: str
    amount: str


class SpendRead(BaseModel):
    reporting_currency: str
    group_by: str
    rows: list[SpendRow]
    unconverted: list[UnconvertedRow] = Field(description="amounts in a currency without a rate for their day")


class StageRead(BaseModel):
    stage: str
    started_at: datetime
    ended_at: datetime
    seconds: float


class RequestInsightRead(BaseModel):
    request_id: str
    number: str
    title: str
    department: str
    cost_center: str
    category: str
    vendor_id: str
    currency: str
    total: Decimal | None
    amount_band: str
    status: str
    revision: int
    changes_requested: int
    first_submitted_at: datetime | None
    closed_at: datetime | None
    cycle_seconds: float | None
    waiting_kind: str | None
    waiting_who: list[WaitingPerson] | None
    waiting_since: datetime | None
    stages: list[StageRead]


Currency = Annotated[str, SafeText(pattern=r"^[A-Z]{3}$")]


class RateItem(BaseModel):
    currency: Currency
    valid_from: date
    rate: Annotated[Decimal, Field(gt=0, max_digits=24, decimal_places=10)] = Field(
        description="units of the reporting currency for one unit of `currency`"
    )


class RatesUpdate(BaseModel):
    rates: list[RateItem] = Field(max_length=10_000)


class RatesRead(BaseModel):
    reporting_currency: str
    rates: list[RateItem]


class ChecklistLeadRow(BaseModel):
    kind: str
    group: str
    completed: int
    cancelled: int
    running: int
    mean_days: float | None
    median_days: float | None
    p90_days: float | None
    max_days: float | None


class ChecklistLeadTimesRead(BaseModel):
    group_by: str
    rows: list[ChecklistLeadRow]
