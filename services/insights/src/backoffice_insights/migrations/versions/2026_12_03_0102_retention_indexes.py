"""Indexes of the retention job's batches: sent outbox rows by ``sent_at``, the inbox by ``processed_at``.

Plain ``CREATE INDEX`` (Alembic runs in a transaction): on a large table, create them beforehand with
``CREATE INDEX CONCURRENTLY`` under the same names and this revision only checks they exist (docs/retention.md).

Revision ID: 0102_retention_indexes
Revises: 0003_fold_queue
Create Date: 2026-12-03
"""

from alembic import op

from backoffice_common.messaging import RETENTION_INDEXES

revision = "0102_retention_indexes"
down_revision = "0003_fold_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in RETENTION_INDEXES:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_processed_event_processed_at")
    op.execute("DROP INDEX IF EXISTS ix_outbox_message_sent_at")
