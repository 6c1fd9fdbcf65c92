"""The budget-check read model and submissions waiting for their check.

Revision ID: 0003_budget_checks
Revises: 0002_approvals
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_budget_checks"
down_revision = "0002_approvals"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "budget_check",
        sa.Column("request_id", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(100), nullable=False, server_default=""),
        sa.Column("over_by", sa.String(40), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("owner", JSONB, nullable=True),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("request_id", "revision", name="pk_budget_check"),
    )
    op.create_table(
        "pending_route",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("snapshot", JSONB, nullable=False),
        sa.Column("submitted_event", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("id", name="pk_pending_route"),
        sa.UniqueConstraint("request_id", "revision", name="uq_pending_route_request_id_revision"),
    )


def downgrade() -> None:
    op.drop_table("pending_route")
    op.drop_table("budget_check")
