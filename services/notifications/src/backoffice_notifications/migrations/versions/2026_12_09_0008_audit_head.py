"""The audit chain's head as a function of the database (`backoffice_common.audit.create_audit_head`):
an append locks the chain and reads its last entry in one round trip instead of two (a LOCK TABLE,
then the read).

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
