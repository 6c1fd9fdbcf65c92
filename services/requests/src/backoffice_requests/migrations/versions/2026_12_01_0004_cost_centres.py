"""The read model of cost centres (``cost_centre.updated`` on ``backoffice.cost_centres``).

Revision ID: 0004_cost_centres
Revises: 0003_deferred_events
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004_cost_centres"
down_revision = "0003_deferred_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cost_centre",
        sa.Column("cost_center", sa.String(100), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("record", JSONB, nullable=False),
        sa.Column("record_updated_at", sa.String(40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("cost_center", name="pk_cost_centre"),
    )


def downgrade() -> None:
    op.drop_table("cost_centre")
