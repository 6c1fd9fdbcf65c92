"""The append-only, hash-chained audit log (`backoffice_common.audit`).

Revision ID: 0003_audit_log
Revises: 0002_contracts
Create Date: 2026-12-03
"""

from alembic import op

from backoffice_common.audit import create_audit_table, drop_audit_table

revision = "0003_audit_log"
down_revision = "0003_segregation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_table(op.get_bind())


def downgrade() -> None:
    drop_audit_table(op.get_bind())
