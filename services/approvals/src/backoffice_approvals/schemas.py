"""Request and response bodies of the REST API (``XCreate`` / ``XRead``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, computed_field, model_validator

from backoffice_approvals.domain.people import LANGUAGE_PATTERN
from backoffice_common.strings import SafeText

Ident = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00\s]+$")]
Short = Annotated[str, SafeText(max_length=200)]
LongText = Annotated[str, SafeText(max_length=4000)]
Email = Annotated[str, SafeText(max_length=320)]
Department = Annotated[str, SafeText(max_length=100)]
Label = Annotated[str, SafeText(min_length=1, max_length=100)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Language = Annotated[
    str, Field(pattern=LANGUAGE_PATTERN, max_length=35, description="A BCP 47 language tag: `de`, `en`, `en-GB`.")
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApproverUpdate(_In):
    """The body of ``PUT /directory/approvers/{id}``: everything but the id."""

    name: Short
    email: Email = ""
    manager_id: Ident | None = None
    department: Department | None = None
    head_of: list[Label] = Field(default_factory=list, max_length=50)
    groups: list[Label] = Field(default_factory=list, max_length=100)
    limit_amount: Decimal | None = Field(default=None, ge=0, max_digits=20, decimal_places=4)
    limit_currency: Currency | None = None
    active: bool = True
    language: Language | None = None
    """The person's language for their emails; omitted, the service's ``APPROVALS_DEFAULT_LANGUAGE``."""


class ApproverCreate(ApproverUpdate):
    """One approver of a bulk import, or the body of a PUT with the id of its path."""

    id: Ident


class ApproverRead(BaseModel):
    id: str
    name: str
    email: str
    manager_id: str | None
    department: str | None
    head_of: list[str]
    groups: list[str]
    limit_amount: Decimal | None
    limit_currency: str | None
    active: bool
    language: str


class DirectoryImport(_In):
    approvers: list[ApproverCreate] = Field(min_length=1, max_length=10000)


class ImportResult(BaseModel):
    imported: int


class PolicyRead(BaseModel):
    version: int
    name: str
    document: dict[str, Any]
    created_by: str
    created_at: datetime | None
    builtin: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> int:
        """A policy version is its own id: ``GET /policies/{id}``."""
        return self.version


class RequesterIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: Ident
    name: Short = ""
    email: Email = ""
    department: Short | None = None


class SnapshotIn(BaseModel):
    """A RequestSnapshot (docs/events.md) as far as routing needs it; other fields pass through."""

    model_config = ConfigDict(extra="allow")
    request_id: Short = "dry-run"
    revision: int = Field(default=1, ge=1)
    title: Short = ""
    requester: RequesterIn
    department: Short | None = None
    cost_center: Short | None = None
    category: Short | None = None
    vendor_id: Short | None = None
    currency: Currency
    total: Decimal = Field(ge=0, max_digits=20, decimal_places=4)


class PersonIn(_In):
    id: Ident
    name: Short = ""
    email: Email = ""


class BudgetCheckIn(_In):
    """The revision's budget check as ``budget.checked`` would report it."""

    status: Literal["within_budget", "over_budget", "no_budget"]
    over_by: Decimal | None = Field(default=None, ge=0, max_digits=20, decimal_places=4)
    currency: Currency | None = None
    owner: PersonIn | None = Field(default=None, description="The cost centre's owner")


class DryRunCreate(_In):
    request: SnapshotIn
    policy: dict[str, Any] | None = None
    budget: BudgetCheckIn | None = Field(
        default=None, description="The budget check to assume; without it the documented fallback: no_budget"
    )


class PlannedApproverRead(BaseModel):
    approver: dict[str, str]
    assignee: dict[str, str]
    on_behalf_of: dict[str, str] | None


class PlannedStepRead(BaseModel):
    name: str
    stage: int
    mode: str
    required: int
    approvers: list[PlannedApproverRead]
    carried_over: list[dict[str, str]]
    due_seconds: int
    reasons: list[str]


class DryRunRead(BaseModel):
    policy_version: int | None
    steps: list[PlannedStepRead]
    notes: list[str]
    blocked: str | None


class DecisionCreate(_In):
    decision: Literal["approved", "rejected", "changes_requested"]
    comment: LongText | None = None
    reason: LongText | None = Field(default=None, description="Required when an admin decides for someone else")

    @model_validator(mode="after")
    def _comment_when_not_approving(self) -> DecisionCreate:
        if self.decision != "approved" and not (self.comment and self.comment.strip()):
            raise ValueError(f"a comment is required when the decision is {self.decision}")
        return self


class TaskRead(BaseModel):
    id: str
    chain_id: str
    request_id: str
    step: str | None = None
    status: str
    approver: dict[str, str]
    assignee: dict[str, str]
    on_behalf_of: dict[str, str] | None
    decision: str | None
    comment: str | None
    decided_by: dict[str, str] | None
    decided_on_behalf_of: dict[str, str] | None
    decided_at: datetime | None
    closed_reason: str | None
    escalated_from: str | None
    due_at: datetime
    created_at: datetime
    audit: str | None = None
    request: dict[str, Any] | None = None


class TaskRequestBrief(BaseModel):
    """The few fields of the request's snapshot a list needs."""

    number: str | None
    title: str | None
    requester_name: str | None
    total: str | None = Field(description="decimal string")
    currency: str | None


class TaskSummaryRead(BaseModel):
    """One row of ``GET /tasks``: the task without its audit and comment, and a brief of its request."""

    id: str
    chain_id: str
    request_id: str
    step: str | None
    status: str
    assignee: dict[str, str]
    on_behalf_of: dict[str, str] | None
    decision: str | None
    decided_by: dict[str, str] | None
    decided_at: datetime | None
    due_at: datetime
    overdue: bool = Field(description="open and past its due time")
    created_at: datetime
    request: TaskRequestBrief


class TaskPageRead(BaseModel):
    items: list[TaskSummaryRead]
    next_cursor: str | None = Field(description="pass as ``cursor`` for the next page; null on the last page")


class ChainRead(BaseModel):
    id: str
    request_id: str
    revision: int
    policy_version: int
    status: str
    blocked_reason: str | None
    notes: list[str]
    steps: list[dict[str, Any]]
    tasks: list[TaskRead]


class AbsenceCreate(_In):
    user_id: Ident | None = None
    delegate_id: Ident
    starts_at: AwareDatetime
    ends_at: AwareDatetime

    @model_validator(mode="after")
    def _sane(self) -> AbsenceCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.user_id is not None and self.delegate_id == self.user_id:
            raise ValueError("nobody can be their own delegate")
        return self


class AbsenceRead(BaseModel):
    id: str
    user_id: str
    delegate_id: str
    starts_at: datetime
    ends_at: datetime
    created_by: str
    cancelled_at: datetime | None
