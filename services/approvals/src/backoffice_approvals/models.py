"""Tables of the approvals service."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase

from backoffice_common.db import new_metadata
from backoffice_common.messaging import messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata, audit=True)

approver = Table(
    "approver",
    Base.metadata,
    Column("id", String(200), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("manager_id", String(200), nullable=True),
    Column("department", String(100), nullable=True),
    Column("head_of", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("groups", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("limit_amount", Numeric(20, 4), nullable=True),
    Column("limit_currency", String(3), nullable=True),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("language", String(35), nullable=False, server_default="en"),
)

# One row: a random version that a trigger on ``approver`` replaces with every change of it (migration 0009).
directory_version = Table(
    "directory_version",
    Base.metadata,
    Column("id", SmallInteger, primary_key=True, server_default=text("1")),
    Column("version", UUID(as_uuid=True), nullable=False, server_default=text("gen_random_uuid()")),
)

policy = Table(
    "policy",
    Base.metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("document", JSONB, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

absence = Table(
    "absence",
    Base.metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(200), nullable=False, index=True),
    Column("delegate_id", String(200), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("cancelled_at", DateTime(timezone=True), nullable=True),
)

approval_chain = Table(
    "approval_chain",
    Base.metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(200), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("requester", JSONB, nullable=False),
    Column("snapshot", JSONB, nullable=False),
    Column("steps", JSONB, nullable=False),
    Column("notes", JSONB, nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("reminder_share", Numeric(6, 4), nullable=False),
    Column("status", String(40), nullable=False),
    Column("blocked_reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("request_id", "revision"),
)

approval_task = Table(
    "approval_task",
    Base.metadata,
    Column("id", String(36), primary_key=True),
    Column("chain_id", String(36), ForeignKey("approval_chain.id"), nullable=False, index=True),
    Column("request_id", String(200), nullable=False),
    Column("step_index", Integer, nullable=False),
    Column("stage", Integer, nullable=False),
    Column("approver", JSONB, nullable=False),
    Column("assignee_id", String(200), nullable=False),
    Column("assignee", JSONB, nullable=False),
    Column("on_behalf_of", JSONB, nullable=True),
    Column("status", String(40), nullable=False),
    Column("decision", String(40), nullable=True),
    Column("comment", Text, nullable=True),
    Column("decided_by", JSONB, nullable=True),
    Column("decided_on_behalf_of", JSONB, nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("closed_reason", Text, nullable=True),
    Column("escalated_from", String(36), nullable=True),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("remind_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(
        "ix_approval_task_open_assignee_due", "assignee_id", "due_at", "id", postgresql_where=text("status = 'open'")
    ),
)
# The lists of ``GET /tasks?state=decided``: per assignee and per decider, newest decision first.
Index(
    "ix_approval_task_decided_assignee",
    approval_task.c.assignee_id,
    approval_task.c.decided_at.desc(),
    approval_task.c.id.desc(),
    postgresql_where=text("decision IS NOT NULL"),
)
Index(
    "ix_approval_task_decided_by",
    approval_task.c.decided_by.op("->>")(literal_column("'id'")),
    approval_task.c.decided_at.desc(),
    approval_task.c.id.desc(),
    postgresql_where=text("decision IS NOT NULL"),
)

approval_timer = Table(
    "approval_timer",
    Base.metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("ref_id", String(36), nullable=False),
    Column("fire_at", DateTime(timezone=True), nullable=False),
    Column("fired_at", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("kind", "ref_id"),
    Index("ix_approval_timer_due", "fire_at", postgresql_where=text("fired_at IS NULL")),
    Index("ix_approval_timer_fired_at", "fired_at", postgresql_where=text("fired_at IS NOT NULL")),
)

budget_check = Table(
    "budget_check",
    Base.metadata,
    Column("request_id", String(200), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("status", String(20), nullable=False),
    Column("reason", String(100), nullable=False, server_default=""),
    Column("over_by", String(40), nullable=True),
    Column("currency", String(3), nullable=True),
    Column("owner", JSONB, nullable=True),
    Column("event_id", String(200), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Read model of ``budget.checked`` (backoffice.budgets), one row per request revision."""

pending_route = Table(
    "pending_route",
    Base.metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(200), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("snapshot", JSONB, nullable=False),
    Column("submitted_event", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("request_id", "revision"),
)
"""A submitted revision whose chain waits for its ``budget.checked`` (or the ``budget_wait`` timer)."""
