"""The audit chain appended by a function of the database (`backoffice_common.audit.create_audit_append`):
`audit_entry_append(recorded_at, requests, contents)` locks the chain, reads its head and inserts the entries
hashed after it, called by the unit of work's commit statement (no round trip for the head of its own).
The chain's rows are unchanged (nothing to back-fill); `audit_entry_head()` stays (the archive and code of
the previous release use it; both take the same lock).

Revision ID: 0008_audit_append
Revises: 0007_audit_head
Create Date: 2026-12-10
"""

from alembic import op

from backoffice_common.audit import create_audit_append, drop_audit_append

revision = "0008_audit_append"
down_revision = "0007_audit_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_append(op.get_bind())


def downgrade() -> None:
    drop_audit_append(op.get_bind())
