"""Tables of the checklists service."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

from backoffice_common.db import new_metadata
from backoffice_common.messaging import messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata, audit=True)

checklist_template = Table(
    "checklist_template",
    Base.metadata,
    Column("key", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("language", String(2), nullable=False),
    Column("title", String(200), nullable=False),
    Column("items", JSONB, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("key", "version"),
)

checklist = Table(
    "checklist",
    Base.metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("employee_id", String(200), nullable=False),
    Column("employee", JSONB, nullable=False),
    Column("template_key", String(100), nullable=False),
    Column("template_version", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("version", Integer, nullable=False),
    Index(
        "uq_checklist_employee_kind_open",
        "employee_id",
        "kind",
        unique=True,
        postgresql_where=text("status <> 'cancelled'"),
    ),
    Index("ix_checklist_status_started", "status", "started_at"),
)
"""One employee has at most one onboarding and one offboarding that is not cancelled."""

checklist_item = Table(
    "checklist_item",
    Base.metadata,
    Column("checklist_id", String(36), ForeignKey("checklist.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(100), nullable=False),
    Column("position", Integer, nullable=False),
    Column("title", String(300), nullable=False),
    Column("responsible", String(100), nullable=False),
    Column("assignee_group", String(100), nullable=True),
    Column("assignee_user", String(200), nullable=True),
    Column("due_anchor", String(20), nullable=False),
    Column("due_offset_days", Integer, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("evidence_kind", String(40), nullable=False),
    Column("depends_on", JSONB, nullable=False),
    Column("access_revocation", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("evidence", JSONB, nullable=True),
    Column("done_by", String(200), nullable=True),
    Column("done_at", DateTime(timezone=True), nullable=True),
    Column("overdue_at", DateTime(timezone=True), nullable=True),
    Column("escalated_to", String(100), nullable=True),
    Column("purchase", JSONB, nullable=True),
    Column("purchase_request_id", String(36), nullable=True),
    PrimaryKeyConstraint("checklist_id", "key"),
    Index("ix_checklist_item_purchase_request", "purchase_request_id", unique=True),
    Index("ix_checklist_item_open_group", "assignee_group", postgresql_where=text("status <> 'done'")),
    Index("ix_checklist_item_open_user", "assignee_user", postgresql_where=text("status <> 'done'")),
    Index("ix_checklist_item_open_escalated", "escalated_to", postgresql_where=text("status <> 'done'")),
)

checklist_timer = Table(
    "checklist_timer",
    Base.metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("ref_id", String(200), nullable=False),
    Column("fire_at", DateTime(timezone=True), nullable=False),
    Column("fired_at", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("kind", "ref_id"),
    Index("ix_checklist_timer_due", "fire_at", postgresql_where=text("fired_at IS NULL")),
)
"""Due dates (``due``) and last days of access items (``access``) kept in the database: a restart loses none."""

group_member = Table(
    "group_member",
    Base.metadata,
    Column("group", String(100), nullable=False),
    Column("user_id", String(200), nullable=False),
    PrimaryKeyConstraint("group", "user_id"),
    Index("ix_group_member_user", "user_id"),
)
"""Who belongs to the responsible groups (``it``, ``facilities``, ``security``...): HR keeps it through the API."""

TABLES = ["checklist_template", "checklist", "checklist_item", "checklist_timer", "group_member"]
