"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from backoffice_common.strings import SafeText

Sha256 = Field(pattern=r"^[0-9a-fA-F]{64}$", description="hex SHA-256 of the document the signer saw")


class SignatureCreate(BaseModel):
    document_sha256: str = Sha256


class SignatureRead(BaseModel):
    party: str
    signer_id: str
    signer_name: str
    signer_email: str
    role: str
    document_sha256: str
    signed_at: datetime
    client_ip: str | None
    user_agent: str | None
    channel: str


class RefusalRead(BaseModel):
    party: str
    signer_name: str
    signer_email: str
    document_sha256: str
    reason: str
    detail: str
    channel: str
    refused_at: datetime


class ContractRead(BaseModel):
    id: str
    request_id: str
    revision: int
    request_number: str
    vendor_id: str
    language: str
    template_version: int
    status: str
    signing_order: str
    document_sha256: str
    generated_at: datetime
    expires_at: datetime
    executed_sha256: str | None
    executed_at: datetime | None
    closed_at: datetime | None
    closed_reason: str | None
    signatures: list[SignatureRead]
    refusals: list[RefusalRead]
    draft_url: str
    executed_url: str | None


class TemplateCreate(BaseModel):
    language: Literal["en", "de"]
    body: Annotated[str, SafeText(min_length=1, max_length=200_000)] = Field(
        description="typst source; data in sys.inputs.data"
    )
    description: Annotated[str, SafeText(max_length=1000)] = ""


class TemplateRead(BaseModel):
    id: str
    language: str
    version: int
    description: str
    created_by: str
    created_at: datetime
    status: Literal["active", "pending", "superseded"] = Field(
        description="active: used for new contracts; pending: newer, awaiting activation by a second admin; "
        "superseded: older than the active version"
    )
    activated_by: str | None = None
    activated_at: datetime | None = None
    body: str | None = None


class SignerRead(BaseModel):
    party: str
    name: str
    email: str
    role: str
    signed_at: datetime
    document_sha256: str


class VerificationRead(BaseModel):
    sha256: str
    issued_here: bool = Field(description="the file is byte-for-byte an executed contract this service issued")
    signature_valid: bool = Field(description="the PDF signature is intact, covers the file and chains to our roots")
    unmodified: bool
    signer_certificate: str | None
    contract_id: str | None = None
    request_id: str | None = None
    request_number: str | None = None
    executed_at: datetime | None = None
    signers: list[SignerRead] = []
