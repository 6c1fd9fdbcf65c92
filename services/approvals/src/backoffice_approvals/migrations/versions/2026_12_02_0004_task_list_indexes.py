"""Indexes that keep ``GET /tasks`` flat as the tables grow.

Open tasks per assignee in due order (replacing the partial index on ``assignee_id`` alone), and
decided tasks per assignee and per decider, newest decision first. Each is partial, so the open index
stays as small as the open work.

Revision ID: 0004_task_list_indexes
Revises: 0003_budget_checks
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_task_list_indexes"
down_revision = "0003_budget_checks"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")
DECIDED = sa.text("decision IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_approval_task_open_assignee_due", "approval_task", ["assignee_id", "due_at", "id"], postgresql_where=OPEN
    )
    op.drop_index("ix_approval_task_open_assignee", table_name="approval_task")
    op.create_index(
        "ix_approval_task_decided_assignee",
        "approval_task",
        [sa.text("assignee_id"), sa.text("decided_at DESC"), sa.text("id DESC")],
        postgresql_where=DECIDED,
    )
    op.create_index(
        "ix_approval_task_decided_by",
        "approval_task",
        [sa.text("(decided_by ->> 'id')"), sa.text("decided_at DESC"), sa.text("id DESC")],
        postgresql_where=DECIDED,
    )


def downgrade() -> None:
    op.drop_index("ix_approval_task_decided_by", table_name="approval_task")
    op.drop_index("ix_approval_task_decided_assignee", table_name="approval_task")
    op.create_index("ix_approval_task_open_assignee", "approval_task", ["assignee_id"], postgresql_where=OPEN)
    op.drop_index("ix_approval_task_open_assignee_due", table_name="approval_task")
