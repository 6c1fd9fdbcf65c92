"""The read model: facts, vendors, request views and their derived rows, exchange rates.

Revision ID: 0002_read_model
Revises: 0001_messaging
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_read_model"
down_revision = "0001_messaging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fact",
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_fact")),
    )
    op.create_table(
        "vendor",
        sa.Column("vendor_id", sa.String(length=200), nullable=False),
        sa.Column("legal_name", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("vendor_id", name=op.f("pk_vendor")),
    )
    op.create_table(
        "request_view",
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("requester_id", sa.String(length=200), nullable=False),
        sa.Column("requester_name", sa.Text(), nullable=False),
        sa.Column("department", sa.String(length=200), nullable=False),
        sa.Column("cost_center", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=200), nullable=False),
        sa.Column("vendor_id", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("amount_band", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("changes_requested", sa.Integer(), nullable=False),
        sa.Column("first_submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("waiting_kind", sa.String(length=40), nullable=True),
        sa.Column("waiting_who", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_request_view")),
    )
    op.create_table(
        "stage_duration",
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "stage", name=op.f("pk_stage_duration")),
    )
    op.create_table(
        "approval_task",
        sa.Column("task_id", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("step", sa.String(length=200), nullable=False),
        sa.Column("assignee_id", sa.String(length=200), nullable=False),
        sa.Column("assignee_name", sa.Text(), nullable=False),
        sa.Column("on_behalf_of_id", sa.String(length=200), nullable=True),
        sa.Column("on_behalf_of_name", sa.Text(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(length=40), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.String(length=40), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("escalated_to_id", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_approval_task")),
    )
    op.create_table(
        "vendor_answer",
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.String(length=200), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("request_id", "seq", name=op.f("pk_vendor_answer")),
    )
    op.create_table(
        "contract_signing",
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("contract_id", sa.String(length=200), nullable=False),
        sa.Column("vendor_id", sa.String(length=200), nullable=True),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("vendor_signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("buyer_signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("request_id", "contract_id", name=op.f("pk_contract_signing")),
    )
    op.create_table(
        "spend_line",
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "seq", name=op.f("pk_spend_line")),
    )
    op.create_table(
        "failed_delivery",
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("template", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_failed_delivery")),
    )
    op.create_table(
        "fx_rate",
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=24, scale=10), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("currency", "valid_from", name=op.f("pk_fx_rate")),
    )
    op.create_index("ix_fact_request_id", "fact", ["request_id"], unique=False)
    op.create_index(
        "ix_request_view_open",
        "request_view",
        ["first_submitted_at"],
        unique=False,
        postgresql_where="ended_at IS NULL",
    )
    op.create_index("ix_stage_duration_stage_ended_at", "stage_duration", ["stage", "ended_at"], unique=False)
    op.create_index("ix_approval_task_assignee_id", "approval_task", ["assignee_id"], unique=False)
    op.create_index("ix_approval_task_request_id", "approval_task", ["request_id"], unique=False)
    op.create_index("ix_vendor_answer_vendor_id", "vendor_answer", ["vendor_id"], unique=False)
    op.create_index("ix_failed_delivery_request_id", "failed_delivery", ["request_id"], unique=False)


def downgrade() -> None:
    op.drop_table("fx_rate")
    op.drop_table("failed_delivery")
    op.drop_table("spend_line")
    op.drop_table("contract_signing")
    op.drop_table("vendor_answer")
    op.drop_table("approval_task")
    op.drop_table("stage_duration")
    op.drop_table("request_view")
    op.drop_table("vendor")
    op.drop_table("fact")
