"""The audit chain's head in a one-row table (`backoffice_common.audit.create_audit_head`), filled from the
chain as it is: an append locks and reads it in one statement instead of locking the table and reading
the last entry (two round trips).

Revision ID: 0008_audit_head
Revises: 0007_idempotency_keys
Create Date: 2026-12-09
"""

from alembic import op

from backoffice_common.audit import create_audit_head, drop_audit_head

revision = "0008_audit_head"
down_revision = "0007_idempotency_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_head(op.get_bind())


def downgrade() -> None:
    drop_audit_head(op.get_bind())
