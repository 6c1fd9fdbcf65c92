"""Payloads of the events this service consumes (docs/events.md), validated before anything is written."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from backoffice_common.consumer import PermanentEventError

_Text = Field(default="", max_length=5000)
T = TypeVar("T", bound=BaseModel)


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        return value


class PersonRef(_Payload):
    id: str = Field(min_length=1, max_length=200)
    name: str = Field(default="", max_length=300)
    email: str = Field(default="", max_length=320)


class Line(_Payload):
    line_no: int = Field(ge=1, le=100000)
    description: str = Field(min_length=1, max_length=2000)
    quantity: Decimal = Field(gt=0, allow_inf_nan=False)
    unit: str = Field(default="", max_length=50)
    unit_price: Decimal = Field(allow_inf_nan=False)
    amount: Decimal = Field(allow_inf_nan=False)
    sku: str | None = Field(default=None, max_length=100)


class RequestSnapshot(_Payload):
    request_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$")
    number: str = Field(min_length=1, max_length=100)
    revision: int = Field(ge=1)
    title: str = Field(default="", max_length=500)
    description: str = _Text
    requester: PersonRef
    cost_center: str = Field(default="", max_length=100)
    vendor_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    lines: list[Line] = Field(min_length=1, max_length=500)
    total: Decimal = Field(allow_inf_nan=False)
    needed_by: date | None = None


class VendorRecord(_Payload):
    vendor_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$")
    legal_name: str = Field(min_length=1, max_length=300)
    address: str | dict[str, Any] = ""
    contact_emails: list[str] = Field(default_factory=list, max_length=50)
    language: str = "en"
    status: str = "active"
    updated_at: datetime

    @property
    def address_text(self) -> str:
        if isinstance(self.address, dict):
            return ", ".join(str(v) for v in self.address.values() if v not in (None, ""))[:1000]
        return self.address[:1000]


class VendorAccepted(_Payload):
    request: RequestSnapshot
    vendor: VendorRecord
    expected_delivery: date | None = None
    note: str | None = Field(default=None, max_length=5000)


class VendorContractSigned(_Payload):
    contract_id: str = Field(min_length=1, max_length=200)
    request_id: str = Field(min_length=1, max_length=200)
    vendor_id: str = Field(min_length=1, max_length=200)
    document_sha256: str = Field(min_length=1, max_length=200)
    signer_name: str = Field(min_length=1, max_length=300)
    signer_email: str = Field(default="", max_length=320)
    signed_at: datetime
    client_ip: str | None = Field(default=None, max_length=100)
    user_agent: str | None = Field(default=None, max_length=500)
    channel: str = Field(default="link", max_length=20)


class PurchaseRequestCancelled(_Payload):
    request_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$")
    revision: int = Field(default=0, ge=0)
    reason: str = Field(default="", max_length=5000)


def parse(model: type[T], data: dict[str, Any]) -> T:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PermanentEventError(f"invalid {model.__name__} payload: {exc.errors(include_url=False)[:5]}") from exc
