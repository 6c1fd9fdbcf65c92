"""The outbox and inbox tables every service has in its own database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from backoffice_common.audit import audit_table
from backoffice_common.db import new_metadata


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table
    audit: Table | None = None
    """``audit_entry`` (``backoffice_common.audit``) where the service keeps an audit log."""


def messaging_tables(metadata: MetaData, *, audit: bool = False) -> MessagingTables:
    """``outbox_message`` and ``processed_event`` (and ``audit_entry`` with ``audit``) on a service's metadata."""
    outbox = Table(
        "outbox_message",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=True),
        Column("event_id", String(200), nullable=False, unique=True),
        Column("event_type", String(200), nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Index("ix_outbox_message_unsent", "id", postgresql_where=text("sent_at IS NULL")),
        Index("ix_outbox_message_sent_at", "sent_at", postgresql_where=text("sent_at IS NOT NULL")),
    )
    inbox = Table(
        "processed_event",
        metadata,
        Column("consumer", String(200), nullable=False),
        Column("event_id", String(200), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("outcome", Text, nullable=False, server_default="handled"),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
        Index("ix_processed_event_processed_at", "processed_at"),
    )
    return MessagingTables(outbox=outbox, inbox=inbox, audit=audit_table(metadata) if audit else None)


def notify_channel(service: str) -> str:
    """The LISTEN/NOTIFY channel that wakes a service's outbox relay."""
    return f"outbox_{service}".replace("-", "_")


def create_messaging_tables(bind: Any) -> None:
    """Used by each service's first migration: the tables as defined in this version of the library."""
    tables = messaging_tables(new_metadata())
    tables.outbox.create(bind)
    tables.inbox.create(bind)


RETENTION_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_outbox_message_sent_at ON outbox_message (sent_at) WHERE sent_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS ix_processed_event_processed_at ON processed_event (processed_at)",
)
"""The indexes the retention job's batches go through (``backoffice_common.retention``), for the
services whose messaging tables were created before they were part of the definition above."""


def drop_messaging_tables(bind: Any) -> None:
    tables = messaging_tables(new_metadata())
    tables.inbox.drop(bind)
    tables.outbox.drop(bind)
