"""API bodies: the vendor directory, deliveries, and what a vendor's system may send to the webhook."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter

from backoffice_common.strings import SafeText


def _email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in value) or "," in value:
        raise ValueError("must be an email address like name@example.com")
    return value


Email = Annotated[str, SafeText(min_length=3, max_length=320, strip=True), AfterValidator(_email)]


def _distinct(emails: list[str]) -> list[str]:
    seen: set[str] = set()
    for email in emails:
        if email.lower() in seen:
            raise ValueError(f"{email} is listed twice (addresses are compared without case)")
        seen.add(email.lower())
    return emails


Contacts = Annotated[list[Email], AfterValidator(_distinct)]
LongText = Annotated[str, SafeText(max_length=4000, strip=True)]
Name = Annotated[str, SafeText(min_length=1, max_length=300, strip=True)]

Language = Literal["en", "de"]
Status = Literal["active", "blocked"]


class VendorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    legal_name: Name
    address: LongText = Field(min_length=1)
    contact_emails: Contacts = Field(min_length=1, max_length=20)
    language: Language = "en"
    webhook_url: Annotated[str, SafeText(max_length=2000)] | None = None
    status: Status = "active"


class VendorUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    legal_name: Name | None = None
    address: LongText | None = Field(default=None, min_length=1)
    contact_emails: Contacts | None = Field(default=None, min_length=1, max_length=20)
    language: Language | None = None
    webhook_url: Annotated[str, SafeText(max_length=2000)] | None = None
    status: Status | None = None


class VendorRead(BaseModel):
    id: str
    legal_name: str
    address: str
    contact_emails: list[str]
    language: Language
    webhook_url: str | None
    status: Status
    has_webhook: bool
    active_secrets: int
    created_at: datetime
    updated_at: datetime


class SecretCreated(BaseModel):
    """A new secret as its rotator sees it: never the secret itself, which only the vendor retrieves, once,
    through the link mailed to ``retrieval_sent_to`` (the vendor's first contact)."""

    id: str
    created_at: datetime
    previous_secrets_expire_at: datetime | None
    retrieval_sent_to: str
    retrieval_expires_at: datetime


class DeliveryRead(BaseModel):
    id: str
    event_id: str
    request_id: str | None
    revision: int | None
    vendor_id: str | None
    channel: str
    recipient: str
    template: str
    language: str
    subject: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class _VendorMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vendor_id: str = Field(min_length=1, max_length=36)


class AcceptOrder(_VendorMessage):
    action: Literal["accept"]
    request_id: str = Field(min_length=1, max_length=36)
    expected_delivery: date | None = None
    note: LongText = ""


class DeclineOrder(_VendorMessage):
    action: Literal["decline"]
    request_id: str = Field(min_length=1, max_length=36)
    reason: LongText = Field(min_length=1)


class SignContract(_VendorMessage):
    action: Literal["sign_contract"]
    contract_id: str = Field(min_length=1, max_length=36)
    document_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    signer_name: Name
    signer_email: Email | None = None


VendorMessage = Annotated[AcceptOrder | DeclineOrder | SignContract, Field(discriminator="action")]
vendor_message: TypeAdapter[AcceptOrder | DeclineOrder | SignContract] = TypeAdapter(VendorMessage)
