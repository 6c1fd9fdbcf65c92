"""The fold queue: requests whose facts are not folded yet (folded in batches by a job).

Revision ID: 0003_fold_queue
Revises: 0002_read_model
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_fold_queue"
down_revision = "0002_read_model"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dirty_request",
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_dirty_request")),
    )
    op.create_index(
        "ix_dirty_request_marked_at",
        "dirty_request",
        ["marked_at"],
        unique=False,
        postgresql_where="error IS NULL",
    )
    # Requests folded by the former per-event fold are complete; nothing to enqueue.


def downgrade() -> None:
    op.drop_index("ix_dirty_request_marked_at", table_name="dirty_request", postgresql_where="error IS NULL")
    op.drop_table("dirty_request")
