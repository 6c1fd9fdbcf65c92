"""Directory, policies, absences, chains, tasks and timers.

Revision ID: 0002_approvals
Revises: 0001_messaging
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002_approvals"
down_revision = "0001_messaging"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "approver",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("manager_id", sa.String(200), nullable=True),
        sa.Column("department", sa.String(100), nullable=True),
        sa.Column("head_of", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("groups", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("limit_amount", sa.Numeric(20, 4), nullable=True),
        sa.Column("limit_currency", sa.String(3), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("id", name="pk_approver"),
    )
    op.create_table(
        "policy",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("version", name="pk_policy"),
    )
    op.create_table(
        "absence",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("delegate_id", sa.String(200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_absence"),
    )
    op.create_index("ix_absence_user_id", "absence", ["user_id"])
    op.create_table(
        "approval_chain",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("requester", JSONB, nullable=False),
        sa.Column("snapshot", JSONB, nullable=False),
        sa.Column("steps", JSONB, nullable=False),
        sa.Column("notes", JSONB, nullable=False),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("reminder_share", sa.Numeric(6, 4), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("blocked_reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("id", name="pk_approval_chain"),
        sa.UniqueConstraint("request_id", "revision", name="uq_approval_chain_request_id_revision"),
    )
    op.create_index("ix_approval_chain_request_id", "approval_chain", ["request_id"])
    op.create_table(
        "approval_task",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("chain_id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(200), nullable=False),
        sa.Column("step_index", sa.Integer, nullable=False),
        sa.Column("stage", sa.Integer, nullable=False),
        sa.Column("approver", JSONB, nullable=False),
        sa.Column("assignee_id", sa.String(200), nullable=False),
        sa.Column("assignee", JSONB, nullable=False),
        sa.Column("on_behalf_of", JSONB, nullable=True),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("decision", sa.String(40), nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("decided_by", JSONB, nullable=True),
        sa.Column("decided_on_behalf_of", JSONB, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.Text, nullable=True),
        sa.Column("escalated_from", sa.String(36), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_approval_task"),
        sa.ForeignKeyConstraint(["chain_id"], ["approval_chain.id"], name="fk_approval_task_chain_id_approval_chain"),
    )
    op.create_index("ix_approval_task_chain_id", "approval_task", ["chain_id"])
    op.create_index(
        "ix_approval_task_open_assignee",
        "approval_task",
        ["assignee_id"],
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "approval_timer",
        sa.Column("id", sa.BigInteger, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("ref_id", sa.String(36), nullable=False),
        sa.Column("fire_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_approval_timer"),
        sa.UniqueConstraint("kind", "ref_id", name="uq_approval_timer_kind"),
    )
    op.create_index(
        "ix_approval_timer_due", "approval_timer", ["fire_at"], postgresql_where=sa.text("fired_at IS NULL")
    )


def downgrade() -> None:
    for table in ("approval_timer", "approval_task", "approval_chain", "absence", "policy", "approver"):
        op.drop_table(table)
