"""Held-back events: a request's event read before the event it depends on (domain/ordering.py).

Revision ID: 0004_pending_events
Revises: 0003_audit_log
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004_pending_events"
down_revision = "0003_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_event",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("request_id", sa.String(100), nullable=False),
        sa.Column("revision", sa.Integer, nullable=True),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("waiting_for", sa.String(300), nullable=False),
        sa.Column("event", JSONB, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("seq", name="pk_pending_event"),
        sa.UniqueConstraint("event_id", name="uq_pending_event_event_id"),
    )
    op.create_index("ix_pending_event_request_id_revision", "pending_event", ["request_id", "revision"])


def downgrade() -> None:
    op.drop_index("ix_pending_event_request_id_revision", table_name="pending_event")
    op.drop_table("pending_event")
