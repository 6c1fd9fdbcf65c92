"""Who approved each request, and who administers each vendor's credentials (segregation of duties).

Revision ID: 0003_segregation
Revises: 0002_contracts
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0003_segregation"
down_revision = "0102_retention_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_approval",
        sa.Column("request_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("chain_id", sa.String(200), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("approver_ids", JSONB, nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("vendor", sa.Column("credential_administrators", JSONB, nullable=False, server_default="[]"))


def downgrade() -> None:
    op.drop_column("vendor", "credential_administrators")
    op.drop_table("request_approval")
