"""Tables of the insights read model. Every row except ``fx_rate`` is derived from events."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, DateTime, Float, Index, Integer, Numeric, String, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

from backoffice_common.db import new_metadata
from backoffice_common.messaging import messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata)

TS = DateTime(timezone=True)

fact = Table(
    "fact",
    Base.metadata,
    Column("event_id", String(200), primary_key=True),
    Column("request_id", String(200), nullable=False),
    Column("type", String(200), nullable=False),
    Column("occurred_at", TS, nullable=False),
    Column("data", JSONB, nullable=False),
    Index("ix_fact_request_id", "request_id"),
)

vendor = Table(
    "vendor",
    Base.metadata,
    Column("vendor_id", String(200), primary_key=True),
    Column("legal_name", Text, nullable=False),
    Column("status", String(40), nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("event_id", String(200), nullable=False),
)

request_view = Table(
    "request_view",
    Base.metadata,
    Column("request_id", String(200), primary_key=True),
    Column("number", String(200), nullable=False),
    Column("title", Text, nullable=False),
    Column("requester_id", String(200), nullable=False),
    Column("requester_name", Text, nullable=False),
    Column("department", String(200), nullable=False),
    Column("cost_center", String(200), nullable=False),
    Column("category", String(200), nullable=False),
    Column("vendor_id", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", Numeric(20, 4)),
    Column("amount_band", String(60), nullable=False),
    Column("status", String(40), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("changes_requested", Integer, nullable=False),
    Column("first_submitted_at", TS),
    Column("approved_at", TS),
    Column("accepted_at", TS),
    Column("executed_at", TS),
    Column("received_at", TS),
    Column("closed_at", TS),
    Column("ended_at", TS),
    Column("last_event_at", TS),
    Column("events", Integer, nullable=False),
    Column("waiting_kind", String(40)),
    Column("waiting_who", JSONB),
    Column("waiting_since", TS),
    Index("ix_request_view_open", "first_submitted_at", postgresql_where="ended_at IS NULL"),
)

stage_duration = Table(
    "stage_duration",
    Base.metadata,
    Column("request_id", String(200), primary_key=True),
    Column("stage", String(40), primary_key=True),
    Column("started_at", TS, nullable=False),
    Column("ended_at", TS, nullable=False),
    Column("seconds", Float, nullable=False),
    Index("ix_stage_duration_stage_ended_at", "stage", "ended_at"),
)

approval_task = Table(
    "approval_task",
    Base.metadata,
    Column("task_id", String(200), primary_key=True),
    Column("request_id", String(200), nullable=False),
    Column("step", String(200), nullable=False),
    Column("assignee_id", String(200), nullable=False),
    Column("assignee_name", Text, nullable=False),
    Column("on_behalf_of_id", String(200)),
    Column("on_behalf_of_name", Text),
    Column("assigned_at", TS),
    Column("due_at", TS),
    Column("decided_at", TS),
    Column("decision", String(40)),
    Column("closed_at", TS),
    Column("closed_reason", String(40)),
    Column("reminders", Integer, nullable=False),
    Column("escalated_to_id", String(200)),
    Index("ix_approval_task_request_id", "request_id"),
    Index("ix_approval_task_assignee_id", "assignee_id"),
)

vendor_answer = Table(
    "vendor_answer",
    Base.metadata,
    Column("request_id", String(200), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("vendor_id", String(200), nullable=False),
    Column("asked_at", TS, nullable=False),
    Column("answered_at", TS),
    Column("answer", String(20)),
    Index("ix_vendor_answer_vendor_id", "vendor_id"),
)

contract_signing = Table(
    "contract_signing",
    Base.metadata,
    Column("request_id", String(200), primary_key=True),
    Column("contract_id", String(200), primary_key=True),
    Column("vendor_id", String(200)),
    Column("generated_at", TS),
    Column("vendor_signed_at", TS),
    Column("buyer_signed_at", TS),
    Column("executed_at", TS),
    Column("ended", String(20)),
)

spend_line = Table(
    "spend_line",
    Base.metadata,
    Column("request_id", String(200), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("occurred_at", TS, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", Numeric(20, 4), nullable=False),
)

failed_delivery = Table(
    "failed_delivery",
    Base.metadata,
    Column("event_id", String(200), primary_key=True),
    Column("request_id", String(200), nullable=False),
    Column("channel", String(40), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("template", String(200), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("occurred_at", TS, nullable=False),
    Index("ix_failed_delivery_request_id", "request_id"),
)

dirty_request = Table(
    "dirty_request",
    Base.metadata,
    Column("request_id", String(200), primary_key=True),
    Column("version", BigInteger, nullable=False, server_default="1"),
    Column("marked_at", TS, nullable=False, server_default=func.now()),
    Column("error", Text),
    Index("ix_dirty_request_marked_at", "marked_at", postgresql_where="error IS NULL"),
)
"""The fold queue: requests with facts not folded yet. A new fact bumps ``version``; the fold job
removes a row only if its version is still the one it folded, so a fact stored meanwhile is folded
next time. ``error``: the last fold of the request failed; kept until its next fact."""

fx_rate = Table(
    "fx_rate",
    Base.metadata,
    Column("currency", String(3), primary_key=True),
    Column("valid_from", Date, primary_key=True),
    Column("rate", Numeric(24, 10), nullable=False),
    Column("loaded_by", String(200), nullable=False),
    Column("loaded_at", TS, nullable=False),
)

DERIVED_PER_REQUEST = (stage_duration, approval_task, vendor_answer, contract_signing, spend_line, failed_delivery)

checklist_lead = Table(
    "checklist_lead",
    Base.metadata,
    Column("checklist_id", String(36), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("template_key", String(100), nullable=False),
    Column("department", String(200), nullable=True),
    Column("status", String(20), nullable=False),
    Column("started_at", TS, nullable=True),
    Column("ended_at", TS, nullable=True),
    Index("ix_checklist_lead_kind_ended", "kind", "ended_at"),
)
"""One row per onboarding or offboarding from ``checklist.started`` / ``completed`` / ``cancelled``, in
whatever order they arrive: the lead time is ``ended_at - started_at`` of a completed one."""
