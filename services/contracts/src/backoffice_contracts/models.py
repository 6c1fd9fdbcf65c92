"""Tables of the contracts service."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase

from backoffice_common.db import new_metadata
from backoffice_common.messaging import messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata, audit=True)

contract_template = Table(
    "contract_template",
    Base.metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("language", String(2), nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Set when a second admin (not created_by) activates the version; the newest activated one is used.
    Column("activated_by", String(200), nullable=True),
    Column("activated_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("language", "version"),
)

contract = Table(
    "contract",
    Base.metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("request_id", UUID(as_uuid=False), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("request_number", String(100), nullable=False),
    Column("vendor_id", UUID(as_uuid=False), nullable=False),
    Column("requester_id", String(200), nullable=False),
    Column("language", String(2), nullable=False),
    Column("template_version", Integer, nullable=False),
    Column("status", String(30), nullable=False),
    Column("signing_order", String(20), nullable=False),
    # Before object storage the PDFs were kept here; such rows stay readable, new rows keep a key.
    Column("document", LargeBinary, nullable=True),
    Column("document_key", String(300), nullable=True),
    Column("document_sha256", String(64), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("generated_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("executed_document", LargeBinary, nullable=True),
    Column("executed_key", String(300), nullable=True),
    Column("executed_sha256", String(64), nullable=True),
    Column("executed_at", DateTime(timezone=True), nullable=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("closed_reason", Text, nullable=True),
    UniqueConstraint("request_id", "revision"),
    CheckConstraint("document IS NOT NULL OR document_key IS NOT NULL", name="draft_stored"),
    Index("ix_contract_executed_sha256", "executed_sha256"),
    Index("ix_contract_request_id_all", "request_id"),
    Index(
        "ix_contract_open_expires_at",
        "expires_at",
        postgresql_where=text("status IN ('awaiting_signatures', 'partially_signed')"),
    ),
)

contract_signature = Table(
    "contract_signature",
    Base.metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("contract_id", UUID(as_uuid=False), ForeignKey("contract.id"), nullable=False),
    Column("party", String(10), nullable=False),
    Column("signer_id", String(200), nullable=False),
    Column("signer_name", String(300), nullable=False),
    Column("signer_email", String(320), nullable=False),
    Column("role", String(50), nullable=False),
    Column("document_sha256", String(64), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("client_ip", String(100), nullable=True),
    Column("user_agent", String(500), nullable=True),
    Column("channel", String(20), nullable=False),
    Column("event_id", String(200), nullable=True),
    UniqueConstraint("contract_id", "party"),
)

signature_refusal = Table(
    "signature_refusal",
    Base.metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("contract_id", String(200), nullable=False, index=True),
    Column("party", String(10), nullable=False),
    Column("signer_name", String(300), nullable=False),
    Column("signer_email", String(320), nullable=False),
    Column("document_sha256", String(200), nullable=False),
    Column("reason", String(50), nullable=False),
    Column("detail", Text, nullable=False),
    Column("client_ip", String(100), nullable=True),
    Column("user_agent", String(500), nullable=True),
    Column("channel", String(20), nullable=False),
    Column("event_id", String(200), nullable=True),
    Column("refused_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

vendor = Table(
    "vendor",
    Base.metadata,
    Column("vendor_id", UUID(as_uuid=False), primary_key=True),
    Column("legal_name", String(300), nullable=False),
    Column("address", Text, nullable=False),
    Column("contact_emails", JSONB, nullable=False),
    Column("language", String(2), nullable=False),
    Column("status", String(20), nullable=False),
    Column("credential_administrators", JSONB, nullable=False, server_default="[]"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

request_approval = Table(
    # Who approved each approval chain of a request (purchase_request.approved): none of them signs for the buyer.
    "request_approval",
    Base.metadata,
    Column("request_id", UUID(as_uuid=False), primary_key=True),
    Column("chain_id", String(200), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("approver_ids", JSONB, nullable=False),
    Column("approved_at", DateTime(timezone=True), nullable=False),
)

cancelled_request = Table(
    "cancelled_request",
    Base.metadata,
    Column("request_id", UUID(as_uuid=False), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("cancelled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
