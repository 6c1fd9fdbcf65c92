"""The audit chain's head in a one-row table (`backoffice_common.audit.create_audit_head`), filled from the
chain as it is: an append locks and reads it in one statement instead of locking the table and reading
the last entry (two round trips).

Revision ID: 0006_audit_head
Revises: 0005_audit_anchors
Create Date: 2026-12-09
"""

from alembic import op

from backoffice_common.audit import create_audit_head, drop_audit_head

revision = "0006_audit_head"
down_revision = "0005_audit_anchors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_head(op.get_bind())


def downgrade() -> None:
    drop_audit_head(op.get_bind())
