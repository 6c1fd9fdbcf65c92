"""Template activation: a new template version is used only once a second admin has activated it.

The versions that exist already were in use (the newest of a language was): they count as activated by the
system when they were created, so the same version stays in use.

Revision ID: 0004_template_activation
Revises: 0003_audit_log
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_template_activation"
down_revision = "0003_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contract_template", sa.Column("activated_by", sa.String(200), nullable=True))
    op.add_column("contract_template", sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE contract_template SET activated_by = 'system', activated_at = created_at")


def downgrade() -> None:
    op.drop_column("contract_template", "activated_at")
    op.drop_column("contract_template", "activated_by")
