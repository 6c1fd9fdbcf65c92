"""The audit log's archive: ``audit_anchor`` and the DELETE the trigger allows an anchored archive
(`backoffice_common.audit_archive`).

Revision ID: 0005_audit_anchors
Revises: 0004_pending_events
Create Date: 2026-12-06
"""

from alembic import op

from backoffice_common.audit_archive import (
    create_anchor_request_index,
    create_audit_anchors,
    drop_anchor_request_index,
    drop_audit_anchors,
)

revision = "0005_audit_anchors"
down_revision = "0004_pending_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_anchors(op.get_bind())
    create_anchor_request_index(op.get_bind())


def downgrade() -> None:
    drop_anchor_request_index(op.get_bind())
    drop_audit_anchors(op.get_bind())
