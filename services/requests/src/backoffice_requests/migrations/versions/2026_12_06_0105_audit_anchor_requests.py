"""The audit archive's index of requests: `audit_anchor_request`, the segments holding each request's rows
(`backoffice_common.audit_archive`); anchors archived before it are `indexed = false` and read for every request.

Revision ID: 0105_audit_anchor_requests
Revises: 0104_audit_anchors
Create Date: 2026-12-06
"""

from alembic import op

from backoffice_common.audit_archive import create_anchor_request_index, drop_anchor_request_index

revision = "0105_audit_anchor_requests"
down_revision = "0104_audit_anchors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_anchor_request_index(op.get_bind())


def downgrade() -> None:
    drop_anchor_request_index(op.get_bind())
