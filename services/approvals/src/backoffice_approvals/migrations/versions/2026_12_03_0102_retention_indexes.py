"""Indexes of the retention job's batches: sent outbox rows by ``sent_at``, the inbox by ``processed_at``.

Also the ``fired_at`` index of ``approval_timer`` (fired timers are pruned), and the reminders and
escalations of tasks decided before timers were closed with their task are closed now.

Plain ``CREATE INDEX`` (Alembic runs in a transaction): on a large table, create them beforehand with
``CREATE INDEX CONCURRENTLY`` under the same names and this revision only checks they exist (docs/retention.md).

Revision ID: 0102_retention_indexes
Revises: 0003_budget_checks
Create Date: 2026-12-03
"""

from alembic import op

from backoffice_common.messaging import RETENTION_INDEXES

revision = "0102_retention_indexes"
down_revision = "0004_task_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in RETENTION_INDEXES:
        op.execute(statement)
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_approval_timer_fired_at ON approval_timer (fired_at) WHERE fired_at IS NOT NULL"
    )
    op.execute(
        "UPDATE approval_timer SET fired_at = now() FROM approval_task WHERE approval_timer.ref_id = approval_task.id"
        " AND approval_timer.kind IN ('reminder', 'escalation') AND approval_timer.fired_at IS NULL"
        " AND approval_task.status <> 'open'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_approval_timer_fired_at")
    op.execute("DROP INDEX IF EXISTS ix_processed_event_processed_at")
    op.execute("DROP INDEX IF EXISTS ix_outbox_message_sent_at")
