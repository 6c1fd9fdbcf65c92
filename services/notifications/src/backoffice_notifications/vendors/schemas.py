"""Request and response bodies of the vendor directory."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backoffice_notifications.schemas_common import Email, LongText, Name

Language = Literal["en", "de"]
Status = Literal["active", "blocked"]


class VendorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    legal_name: Name
    address: LongText = Field(min_length=1)
    contact_emails: list[Email] = Field(min_length=1, max_length=20)
    language: Language = "en"
    webhook_url: str | None = Field(default=None, max_length=2000)
    status: Status = "active"


class VendorUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    legal_name: Name | None = None
    address: LongText | None = Field(default=None, min_length=1)
    contact_emails: list[Email] | None = Field(default=None, min_length=1, max_length=20)
    language: Language | None = None
    webhook_url: str | None = Field(default=None, max_length=2000)
    status: Status | None = None


class VendorRead(BaseModel):
    vendor_id: str
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
    """Shown once: the service keeps only the encrypted secret."""

    secret_id: str
    secret: str
    created_at: datetime
    previous_secrets_expire_at: datetime | None
