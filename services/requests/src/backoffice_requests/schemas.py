"""Request and response bodies of the REST API (``XCreate`` / ``XUpdate`` / ``XRead``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from backoffice_common.strings import SafeText


def _decimal(value: Any) -> Any:
    """Numbers travel as decimal strings (or integers); a float would already have lost precision."""
    if isinstance(value, bool | float):
        raise ValueError('send decimal numbers as strings, e.g. "12.50"')
    if isinstance(value, str):
        if len(value) > 40:
            raise ValueError("is too long for a number")
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
    return value


Title = Annotated[str, SafeText(min_length=1, max_length=200, strip=True)]
LongText = Annotated[str, SafeText(max_length=10_000)]
Note = Annotated[str, SafeText(max_length=2000, strip=True)]
Reason = Annotated[str, SafeText(min_length=1, max_length=2000, strip=True)]
Label = Annotated[str, SafeText(min_length=1, max_length=100, strip=True)]
LineText = Annotated[str, SafeText(min_length=1, max_length=500, strip=True)]
Unit = Annotated[str, SafeText(min_length=1, max_length=20, strip=True)]
FileName = Annotated[str, SafeText(min_length=1, max_length=255, strip=True)]
Url = Annotated[str, SafeText(min_length=1, max_length=2000, strip=True)]

DecimalIn = Annotated[Decimal, BeforeValidator(_decimal)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:/-]{1,100}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

MAX_LINES_ACCEPTED = 500


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineCreate(Strict):
    description: LineText
    quantity: DecimalIn
    unit: Unit
    unit_price: DecimalIn
    sku: Label | None = None


class AttachmentCreate(Strict):
    file_name: FileName
    media_type: Label
    size_bytes: int = Field(ge=0, le=1_000_000_000)
    url: Url | None = None


class RequestCreate(Strict):
    title: Title
    description: LongText = ""
    vendor_id: Code
    currency: Currency
    cost_center: Label
    department: Label
    category: Label
    needed_by: date
    lines: list[LineCreate] = Field(min_length=1, max_length=MAX_LINES_ACCEPTED)
    attachments: list[AttachmentCreate] = Field(default_factory=list, max_length=20)


class RequestUpdate(Strict):
    """Only the fields sent are changed; ``lines`` replaces every line."""

    title: Title | None = None
    description: LongText | None = None
    vendor_id: Code | None = None
    currency: Currency | None = None
    cost_center: Label | None = None
    department: Label | None = None
    category: Label | None = None
    needed_by: date | None = None
    lines: list[LineCreate] | None = Field(default=None, min_length=1, max_length=MAX_LINES_ACCEPTED)
    attachments: list[AttachmentCreate] | None = Field(default=None, max_length=20)


class RequestRevise(RequestUpdate):
    comment: Note = ""


class CancelCreate(Strict):
    reason: Reason


class VendorReassignCreate(Strict):
    vendor_id: Code
    reason: Note = ""


class ReceiptLineCreate(Strict):
    line_no: int = Field(ge=1, le=MAX_LINES_ACCEPTED)
    quantity: DecimalIn


class ReceiptCreate(Strict):
    lines: list[ReceiptLineCreate] = Field(min_length=1, max_length=MAX_LINES_ACCEPTED)
    note: Note = ""


class CloseCreate(Strict):
    short: bool = False
    reason: Note = ""


class PersonRead(BaseModel):
    id: str
    name: str
    email: str
    department: str | None = None


class LineRead(BaseModel):
    line_no: int
    description: str
    quantity: str
    unit: str
    unit_price: str
    amount: str
    sku: str | None = None
    quantity_received: str = "0"


class WaitingOnRead(BaseModel):
    """Who must act next on an open request, what, since when and by when (when a due date is known)."""

    who: dict[str, str]
    what: str
    since: datetime
    due: datetime | None = None


class RequestRead(BaseModel):
    id: str
    number: str
    status: str
    revision: int
    version: int
    requester: PersonRead
    title: str
    description: str
    vendor_id: str
    currency: str
    cost_center: str
    department: str
    category: str
    needed_by: date
    lines: list[LineRead]
    attachments: list[dict[str, Any]]
    total: str
    created_at: datetime
    updated_at: datetime
    allowed_actions: list[str]
    waiting_on: WaitingOnRead | None = None


class RequestSummaryRead(BaseModel):
    id: str
    number: str
    status: str
    revision: int
    title: str
    requester_id: str
    vendor_id: str
    department: str
    currency: str
    total: str
    created_at: datetime
    updated_at: datetime


class RequestPageRead(BaseModel):
    items: list[RequestSummaryRead]
    next_cursor: str | None


class RevisionRead(BaseModel):
    revision: int
    created_at: datetime
    created_by: dict[str, Any]
    content: dict[str, Any]


class RevisionDiffRead(BaseModel):
    from_revision: int
    to_revision: int
    fields: list[dict[str, Any]]
    lines: list[dict[str, Any]]


class TimelineEntryRead(BaseModel):
    event_id: str
    type: str
    source: str
    actor: dict[str, Any]
    outcome: str
    note: str = Field(
        description="What happened, for people, in the language of the reader's Accept-Language (en, de); "
        "text a person wrote (a comment, a receipt note, a reason) is quoted as written"
    )
    note_code: str = Field(description="The machine form of `note`: a stable code (e.g. `task_assigned`)")
    note_params: dict[str, Any] = Field(description="The parameters of `note_code` that `note` is written from")
    detail: str = Field(
        description="How the service handled the event (applied, deferred, ignored, and why), in English"
    )
    status_after: str
    occurred_at: datetime
    recorded_at: datetime
    data: dict[str, Any]
