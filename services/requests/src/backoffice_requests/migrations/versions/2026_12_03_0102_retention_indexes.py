"""Indexes of the retention job's batches: sent outbox rows by ``sent_at``, the inbox by ``processed_at``.

Also the ``created_at`` index of ``idempotency_record`` (its retention rule).

Plain ``CREATE INDEX`` (Alembic runs in a transaction): on a large table, create them beforehand with
``CREATE INDEX CONCURRENTLY`` under the same names and this revision only checks they exist (docs/retention.md).

Revision ID: 0102_retention_indexes
Revises: 0004_cost_centres
Create Date: 2026-12-03
"""

from alembic import op

from backoffice_common.messaging import RETENTION_INDEXES

revision = "0102_retention_indexes"
down_revision = "0006_assignment_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in RETENTION_INDEXES:
        op.execute(statement)
    op.execute("CREATE INDEX IF NOT EXISTS ix_idempotency_record_created_at ON idempotency_record (created_at)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_idempotency_record_created_at")
    op.execute("DROP INDEX IF EXISTS ix_processed_event_processed_at")
    op.execute("DROP INDEX IF EXISTS ix_outbox_message_sent_at")
