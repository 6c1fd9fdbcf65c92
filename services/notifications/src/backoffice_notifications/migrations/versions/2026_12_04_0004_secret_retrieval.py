"""A new webhook secret reaches the vendor through a one-time link: when that link expires, when it was used.

And ``vendor_link.revoked_at``: blocking a vendor withdraws its unused links.

Revision ID: 0004_secret_retrieval
Revises: 0003_audit_log
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_secret_retrieval"
down_revision = "0003_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("vendor_secret", sa.Column("retrieval_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("vendor_secret", sa.Column("retrieved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("vendor_link", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("vendor_link", "revoked_at")
    op.drop_column("vendor_secret", "retrieved_at")
    op.drop_column("vendor_secret", "retrieval_expires_at")
