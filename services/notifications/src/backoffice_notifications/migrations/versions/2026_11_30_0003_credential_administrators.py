"""Who created or rotated each vendor's webhook secrets (segregation of duties).

Revision ID: 0003_credential_administrators
Revises: 0002_notifications
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_credential_administrators"
down_revision = "0102_retention_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("vendor", sa.Column("credential_administrators", JSONB, nullable=False, server_default="[]"))


def downgrade() -> None:
    op.drop_column("vendor", "credential_administrators")
