"""Pydantic models of the checklists service: API bodies (XCreate / XUpdate / XRead) and HR event payloads."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backoffice_checklists.domain.employees import Employee
from backoffice_common.strings import SafeText

Key = Annotated[str, SafeText(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
Group = Annotated[str, SafeText(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
UserId = Annotated[str, SafeText(min_length=1, max_length=200)]
Title = Annotated[str, SafeText(min_length=1, max_length=300, strip=True)]
Fact = Annotated[str, SafeText(min_length=1, max_length=100, strip=True)]
Kind = Literal["onboarding", "offboarding"]
Language = Literal["de", "en"]
EvidenceKind = Literal[
    "confirmation", "serial_number", "document_reference", "sign_off", "interview_held", "purchase_received"
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmployeeIn(BaseModel):
    """An employee as the HR system describes them (extra fields of an HR event are ignored)."""

    id: UserId
    name: Annotated[str, SafeText(min_length=1, max_length=200, strip=True)]
    email: Annotated[str, SafeText(max_length=320)] = ""
    language: Language = "en"
    department: Fact | None = None
    location: Fact | None = None
    employment_type: Fact | None = None
    manager_id: UserId | None = None
    manager_email: Annotated[str, SafeText(max_length=320)] = Field(
        default="", description="where the manager's checklist items are emailed"
    )
    start_date: date
    last_day: date | None = None

    @model_validator(mode="after")
    def _last_day_after_start(self) -> EmployeeIn:
        if self.last_day is not None and self.last_day < self.start_date:
            raise ValueError("last_day must not be before start_date")
        return self

    def domain(self) -> Employee:
        return Employee(**self.model_dump())


class ChecklistCreate(Strict):
    kind: Kind
    employee: EmployeeIn
    template: Key | None = Field(
        default=None, description="the template to use; default the standard one of the employee's language"
    )

    @model_validator(mode="after")
    def _offboarding_has_last_day(self) -> ChecklistCreate:
        if self.kind == "offboarding" and self.employee.last_day is None:
            raise ValueError("an offboarding needs the employee's last_day")
        return self


class ChecklistCancel(Strict):
    reason: Annotated[str, SafeText(min_length=1, max_length=500, strip=True)]


class ItemComplete(Strict):
    evidence: dict[Key, Annotated[str, SafeText(min_length=1, max_length=500)]] = Field(
        default_factory=dict,
        max_length=5,
        examples=[{"serial_number": "PF3X9Z1"}, {"held_by": "hanna", "held_on": "2027-03-28"}],
        description="confirmation: {}; serial_number; document_reference; sign_off: signed_off_by; "
        "interview_held: held_by and held_on; purchase_received: purchase_request_id (set by the order's "
        "receipt). An optional note is kept with any of them.",
    )


class ItemRead(BaseModel):
    key: str
    title: str
    responsible: str
    assignee_group: str | None
    assignee_user: str | None
    due_on: date
    evidence_kind: str
    depends_on: list[str]
    access_revocation: bool
    status: str
    evidence: dict[str, str] | None
    done_by: str | None
    done_at: datetime | None
    overdue: bool
    escalated_to: str | None
    red_flag: bool
    purchase_request_id: str | None = None


class Progress(BaseModel):
    done: int
    total: int
    percent: int


class ChecklistRead(BaseModel):
    id: str
    kind: str
    status: str
    employee: dict[str, object]
    template: dict[str, object]
    started_at: datetime | None
    ended_at: datetime | None
    progress: Progress
    red_flags: int
    items: list[ItemRead]


class ChecklistSummary(BaseModel):
    id: str
    kind: str
    status: str
    employee: dict[str, object]
    started_at: datetime | None
    progress: Progress
    overdue_items: list[ItemRead]
    red_flags: int


class MyItemRead(ItemRead):
    checklist_id: str
    kind: str
    employee: dict[str, object]


class DueIn(Strict):
    anchor: Literal["start_date", "last_day"]
    offset_days: int = Field(ge=-365, le=365)


class PurchaseIn(Strict):
    """Equipment the item orders: a draft purchase request for the employee's manager when the item is ready."""

    description: Title
    quantity: Decimal = Field(gt=0, le=1000, max_digits=12, decimal_places=3)
    unit: Annotated[str, SafeText(min_length=1, max_length=20, strip=True)] = "pcs"
    unit_price: Decimal = Field(gt=0, max_digits=14, decimal_places=2, description="decimal, in currency")
    currency: Annotated[str, SafeText(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]
    category: Fact
    cost_center: Fact | None = Field(default=None, description="none: the employee's department")


class TemplateItemIn(Strict):
    key: Key
    title: Title
    responsible: Group = Field(description="a group (hr, it, facilities, security...), or manager / employee")
    due: DueIn
    evidence: EvidenceKind = "confirmation"
    depends_on: list[Key] = Field(default_factory=list, max_length=50)
    conditions: dict[Literal["department", "location", "employment_type"], list[Fact]] = Field(default_factory=dict)
    access_revocation: bool = False
    purchase: PurchaseIn | None = Field(
        default=None, description="with evidence purchase_received and responsible manager: what the item orders"
    )


class TemplateUpdate(Strict):
    kind: Kind
    language: Language
    title: Title
    items: list[TemplateItemIn] = Field(min_length=1, max_length=200)


class TemplateRead(TemplateUpdate):
    key: str
    version: int
    created_by: str | None = None
    created_at: datetime | None = None


class TemplatePreview(Strict):
    employee: EmployeeIn


class GroupMembersUpdate(Strict):
    members: list[UserId] = Field(max_length=1000)


class GroupMembersRead(BaseModel):
    group: str
    members: list[str]


class Hired(BaseModel):
    """``employee.hired``: the employee as hired, with the start date."""

    employee: EmployeeIn


class Leaving(BaseModel):
    """``employee.leaving``: the employee and their last day; the offboarding starts today unless said."""

    employee: EmployeeIn
    last_day: date


class LastDayChanged(BaseModel):
    employee_id: UserId
    last_day: date
