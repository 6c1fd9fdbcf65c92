"""An approver's assignments in the order of the request list.

``approver_assignment`` keeps its request's ``created_at`` (set once: it never changes), indexed with
the user, so the assigned half of a user's ``GET /requests`` walks that index and stops at the page
size instead of sorting every request the approver was ever asked about.

Revision ID: 0006_assignment_order
Revises: 0005_list_indexes
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_assignment_order"
down_revision = "0005_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("approver_assignment", sa.Column("request_created_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE approver_assignment a SET request_created_at = p.created_at"
        " FROM purchase_request p WHERE p.id = a.request_id"
    )
    op.execute("UPDATE approver_assignment SET request_created_at = assigned_at WHERE request_created_at IS NULL")
    op.alter_column("approver_assignment", "request_created_at", nullable=False)
    op.create_index(
        "ix_approver_assignment_user_created",
        "approver_assignment",
        [sa.text("user_id"), sa.text("request_created_at DESC"), sa.text("request_id DESC")],
    )
    op.drop_index("ix_approver_assignment_user_id", table_name="approver_assignment")


def downgrade() -> None:
    op.create_index("ix_approver_assignment_user_id", "approver_assignment", ["user_id"])
    op.drop_index("ix_approver_assignment_user_created", table_name="approver_assignment")
    op.drop_column("approver_assignment", "request_created_at")
