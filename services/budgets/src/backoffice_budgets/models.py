"""Tables of the budgets service."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase

from backoffice_common.db import new_metadata
from backoffice_common.messaging import messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata, audit=True)

MONEY = Numeric(24, 6)

cost_centre = Table(
    "cost_centre",
    Base.metadata,
    Column("id", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("owner_id", String(200), nullable=False),
    Column("owner_name", String(200), nullable=False),
    Column("owner_email", String(320), nullable=False),
    Column("department", String(100), nullable=False, index=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

budget = Table(
    "budget",
    Base.metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("cost_centre_id", String(50), ForeignKey("cost_centre.id"), nullable=False),
    Column("period", String(10), nullable=False),
    Column("period_kind", String(10), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("closed_by", String(200), nullable=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("status IN ('open', 'closed')", name="status"),
    CheckConstraint("period_start < period_end", name="period"),
    Index("ix_budget_cost_centre_id_period_start", "cost_centre_id", "period_start"),
)

ledger_movement = Table(
    "ledger_movement",
    Base.metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("id", UUID(as_uuid=False), nullable=False, unique=True),
    Column("budget_id", UUID(as_uuid=False), ForeignKey("budget.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("delta_budget", MONEY, nullable=False),
    Column("delta_reserved", MONEY, nullable=False),
    Column("delta_committed", MONEY, nullable=False),
    Column("delta_spent", MONEY, nullable=False),
    Column("budget_after", MONEY, nullable=False),
    Column("reserved_after", MONEY, nullable=False),
    Column("committed_after", MONEY, nullable=False),
    Column("spent_after", MONEY, nullable=False),
    Column("request_id", String(100), nullable=True),
    Column("revision", Integer, nullable=True),
    Column("cause_event_id", String(200), nullable=False),
    Column("cause_event_type", String(200), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("source_currency", String(3), nullable=True),
    Column("source_amount", MONEY, nullable=True),
    Column("fx_rate", Numeric(30, 10), nullable=True),
    Column("fx_rate_date", Date, nullable=True),
    Column("reason", String(200), nullable=False, server_default=""),
    UniqueConstraint("cause_event_id", "budget_id", "kind", name="uq_ledger_movement_cause"),
    Index("ix_ledger_movement_budget_id_seq", "budget_id", "seq"),
    Index("ix_ledger_movement_request_id", "request_id"),
)

request_hold = Table(
    "request_hold",
    Base.metadata,
    Column("request_id", String(100), primary_key=True),
    Column("period_date", Date, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("state", String(10), nullable=False),
    Column("budget_id", UUID(as_uuid=False), ForeignKey("budget.id"), nullable=True),
    Column("cost_centre", String(200), nullable=False),
    Column("request_currency", String(3), nullable=False),
    Column("fx_from", String(3), nullable=True),
    Column("fx_to", String(3), nullable=True),
    Column("fx_rate", Numeric(30, 10), nullable=True),
    Column("fx_rate_date", Date, nullable=True),
    Column("unit_prices", JSONB, nullable=False),
    Column("handled_events", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

pending_event = Table(
    "pending_event",
    Base.metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("request_id", String(100), nullable=False),
    Column("revision", Integer, nullable=True),
    Column("event_id", String(200), nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("waiting_for", String(300), nullable=False),
    Column("event", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_pending_event_request_id_revision", "request_id", "revision"),
)
"""Events read before the event they depend on (domain/ordering.py), kept until it is applied."""

budget_check = Table(
    "budget_check",
    Base.metadata,
    Column("request_id", String(100), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("status", String(20), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

fx_rate = Table(
    "fx_rate",
    Base.metadata,
    Column("currency", String(3), primary_key=True),
    Column("rate_date", Date, primary_key=True),
    Column("per_eur", Numeric(30, 10), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

transfer = Table(
    "transfer",
    Base.metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("from_budget_id", UUID(as_uuid=False), ForeignKey("budget.id"), nullable=False, index=True),
    Column("to_budget_id", UUID(as_uuid=False), ForeignKey("budget.id"), nullable=False, index=True),
    Column("amount", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
