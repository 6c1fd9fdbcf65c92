"""Who signed each request's contract for the buyer (the closure policy of segregation of duties).

Revision ID: 0005_buyer_signers
Revises: 0004_cost_centres
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0005_buyer_signers"
down_revision = "0102_retention_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buyer_signer",
        sa.Column("request_id", UUID(as_uuid=False), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("request_id", "user_id", name="pk_buyer_signer"),
    )


def downgrade() -> None:
    op.drop_table("buyer_signer")
