"""The append-only, hash-chained audit log (`backoffice_common.audit`).

Revision ID: 0004_audit_log
Revises: 0003_purchases
Create Date: 2026-12-04
"""

from alembic import op

from backoffice_common.audit import create_audit_table, drop_audit_table

revision = "0004_audit_log"
down_revision = "0003_purchases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_table(op.get_bind())


def downgrade() -> None:
    drop_audit_table(op.get_bind())
