"""The console's own database: one table of server-side sessions (``python -m backoffice_console migrate``)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, LargeBinary, MetaData, String, Table

metadata = MetaData()

console_session = Table(
    "console_session",
    metadata,
    Column("key", String(64), primary_key=True, comment="SHA-256 of the session id (the cookie is never stored)"),
    Column("data", LargeBinary, nullable=False, comment="Fernet-encrypted JSON: tokens, claims, CSRF, locale"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_console_session_expires_at", "expires_at"),
)
