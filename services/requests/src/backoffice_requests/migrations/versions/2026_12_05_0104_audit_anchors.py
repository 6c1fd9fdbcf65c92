"""The audit log's archive: ``audit_anchor`` and the DELETE the trigger allows an anchored archive
(`backoffice_common.audit_archive`).

Revision ID: 0104_audit_anchors
Revises: 0103_timeline_archive
Create Date: 2026-12-05
"""

from alembic import op

from backoffice_common.audit_archive import create_audit_anchors, drop_audit_anchors

revision = "0104_audit_anchors"
down_revision = "0103_timeline_archive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_anchors(op.get_bind())


def downgrade() -> None:
    drop_audit_anchors(op.get_bind())
