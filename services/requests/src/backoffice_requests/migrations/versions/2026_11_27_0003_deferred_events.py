"""Facts of other services that arrived before the fact they follow.

Revision ID: 0003_deferred_events
Revises: 0002_purchase_requests
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0003_deferred_events"
down_revision = "0002_purchase_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deferred_event",
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("request_id", UUID(as_uuid=False), nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deferred_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("event_id", name="pk_deferred_event"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["purchase_request.id"], name="fk_deferred_event_request_id_purchase_request"
        ),
    )
    op.create_index("ix_deferred_event_request_id", "deferred_event", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_deferred_event_request_id", table_name="deferred_event")
    op.drop_table("deferred_event")
