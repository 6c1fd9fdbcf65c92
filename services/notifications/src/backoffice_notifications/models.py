"""Tables of the notifications service."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

from backoffice_common.db import new_metadata
from backoffice_common.idempotency import idempotency_table
from backoffice_common.messaging import messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata, audit=True)

_now = func.now()

vendor = Table(
    "vendor",
    Base.metadata,
    Column("id", String(36), primary_key=True),
    Column("legal_name", String(300), nullable=False),
    Column("address", Text, nullable=False),
    Column("contact_emails", JSONB, nullable=False),
    Column("language", String(2), nullable=False),
    Column("webhook_url", String(2000), nullable=True),
    Column("status", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("credential_administrators", JSONB, nullable=False, server_default="[]"),
)

vendor_secret = Table(
    "vendor_secret",
    Base.metadata,
    Column("id", String(36), primary_key=True),
    Column("vendor_id", String(36), ForeignKey("vendor.id"), nullable=False, index=True),
    Column("ciphertext", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("retrieval_expires_at", DateTime(timezone=True), nullable=True),
    Column("retrieved_at", DateTime(timezone=True), nullable=True),
)

order_view = Table(
    "order_view",
    Base.metadata,
    Column("request_id", String(36), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("vendor_id", String(36), nullable=True),
    Column("status", String(30), nullable=False),
    Column("snapshot", JSONB, nullable=False),
    Column("sent_to_vendor_id", String(36), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

contract_view = Table(
    "contract_view",
    Base.metadata,
    Column("contract_id", String(36), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("vendor_id", String(36), nullable=False),
    Column("document_sha256", String(64), nullable=False),
    Column("document_url", String(2000), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("status", String(20), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=True),
)

delivery = Table(
    "delivery",
    Base.metadata,
    Column("id", String(36), primary_key=True),
    Column("dedup_key", LargeBinary(16), nullable=False, unique=True),
    Column("event_id", String(200), nullable=False),
    Column("correlation_id", String(200), nullable=True),
    Column("request_id", String(36), nullable=True, index=True),
    Column("revision", Integer, nullable=True),
    Column("vendor_id", String(36), nullable=True),
    Column("channel", String(10), nullable=False),
    Column("recipient", String(2000), nullable=False),
    Column("template", String(60), nullable=False),
    Column("language", String(2), nullable=False),
    Column("subject", Text, nullable=True),
    Column("body_text", Text, nullable=True),
    Column("body_html", Text, nullable=True),
    Column("payload", JSONB, nullable=True),
    Column("notifies_vendor", Boolean, nullable=False, server_default="false"),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Index("ix_delivery_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    Index(
        "ix_delivery_body_kept",
        "created_at",
        postgresql_where=text("body_text IS NOT NULL OR body_html IS NOT NULL OR payload IS NOT NULL"),
    ),
)

vendor_link = Table(
    "vendor_link",
    Base.metadata,
    Column("id", String(36), primary_key=True),
    Column("purpose", String(20), nullable=False),
    Column("request_id", String(36), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("vendor_id", String(36), nullable=False),
    Column("contract_id", String(36), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

vendor_notification = Table(
    "vendor_notification",
    Base.metadata,
    Column("request_id", String(36), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("vendor_id", String(36), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("notified_at", DateTime(timezone=True), nullable=False, server_default=_now),
    PrimaryKeyConstraint("request_id", "revision"),
)

received_webhook = Table(
    "received_webhook",
    Base.metadata,
    Column("vendor_id", String(36), nullable=False),
    Column("webhook_id", String(200), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=_now),
    PrimaryKeyConstraint("vendor_id", "webhook_id"),
    Index("ix_received_webhook_received_at", "received_at"),
)

idempotency_record = idempotency_table(Base.metadata)
"""Answers to ``Idempotency-Key`` (a secret rotation), per user and key (``backoffice_common.idempotency``)."""
