"""Payloads of the events this service consumes (docs/events.md), validated by ``parse_payload`` before anything
is written. They are the use cases' commands: immutable, already checked data."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from backoffice_common.strings import SafeStr, SafeText

Uuid = Annotated[str, SafeText(pattern=r"^[0-9a-fA-F-]{36}$")]
Ref = Annotated[str, SafeText(min_length=1, max_length=200)]
Name = Annotated[str, SafeText(max_length=300)]
RequiredName = Annotated[str, SafeText(min_length=1, max_length=300)]
Email = Annotated[str, SafeText(max_length=320)]
Short = Annotated[str, SafeText(max_length=100)]
Long = Annotated[str, SafeText(max_length=5000)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PersonRef(_Payload):
    id: Ref
    name: Name = ""
    email: Email = ""


class Line(_Payload):
    line_no: int = Field(ge=1, le=100000)
    description: Annotated[str, SafeText(min_length=1, max_length=2000)]
    quantity: Decimal = Field(gt=0, allow_inf_nan=False)
    unit: Annotated[str, SafeText(max_length=50)] = ""
    unit_price: Decimal = Field(allow_inf_nan=False)
    amount: Decimal = Field(allow_inf_nan=False)
    sku: Short | None = None


class RequestSnapshot(_Payload):
    request_id: Uuid
    number: Annotated[str, SafeText(min_length=1, max_length=100)]
    revision: int = Field(ge=1)
    title: Annotated[str, SafeText(max_length=500)] = ""
    description: Long = ""
    requester: PersonRef
    cost_center: Short = ""
    vendor_id: Uuid
    currency: Annotated[str, SafeText(pattern=r"^[A-Z]{3}$")]
    lines: list[Line] = Field(min_length=1, max_length=500)
    total: Decimal = Field(allow_inf_nan=False)
    needed_by: date | None = None


class VendorRecord(_Payload):
    vendor_id: Uuid
    legal_name: RequiredName
    address: SafeStr | dict[str, Any] = ""
    contact_emails: list[SafeStr] = Field(default_factory=list, max_length=50)
    language: SafeStr = "en"
    status: SafeStr = "active"
    credential_administrators: list[Ref] = Field(default_factory=list, max_length=1000)
    """Who created or rotated the vendor's credentials (none of them signs its contracts for the buyer)."""
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
    note: Long | None = None


class VendorContractSigned(_Payload):
    contract_id: Ref
    request_id: Ref
    vendor_id: Ref
    document_sha256: Ref
    signer_name: RequiredName
    signer_email: Email = ""
    signed_at: datetime
    client_ip: Short | None = None
    user_agent: Annotated[str, SafeText(max_length=500)] | None = None
    channel: Annotated[str, SafeText(max_length=20)] = "link"


class PurchaseRequestCancelled(_Payload):
    request_id: Uuid
    revision: int = Field(default=0, ge=0)
    reason: Long = ""
    actor: Any = None
    """The cancelling user as the requests service sent it; carried into ``contract.voided`` unchanged."""


class RequestApproved(_Payload):
    """``purchase_request.approved``: only who approved is read (none of them signs for the buyer)."""

    request: RequestSnapshot
    chain_id: Ref
    approvers: list[PersonRef] = Field(max_length=1000)
