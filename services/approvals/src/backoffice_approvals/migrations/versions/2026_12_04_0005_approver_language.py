"""The language of each directory entry (BCP 47): notifications emails the person in it.

Entries stored before get ``en``, the language every email to people was written in until now.

Revision ID: 0005_approver_language
Revises: 0004_audit_log
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_approver_language"
down_revision = "0004_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("approver", sa.Column("language", sa.String(35), nullable=False, server_default="en"))


def downgrade() -> None:
    op.drop_column("approver", "language")
