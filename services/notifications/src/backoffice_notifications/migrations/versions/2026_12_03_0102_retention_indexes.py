"""Indexes of the retention job's batches: sent outbox rows by ``sent_at``, the inbox by ``processed_at``.

Also the ``received_at`` index of ``received_webhook`` and the index of the deliveries whose bodies
are still kept (``created_at``, partial), for their retention rules.

Plain ``CREATE INDEX`` (Alembic runs in a transaction): on a large table, create them beforehand with
``CREATE INDEX CONCURRENTLY`` under the same names and this revision only checks they exist (docs/retention.md).

Revision ID: 0102_retention_indexes
Revises: 0002_notifications
Create Date: 2026-12-03
"""

from alembic import op

from backoffice_common.messaging import RETENTION_INDEXES

revision = "0102_retention_indexes"
down_revision = "0002_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in RETENTION_INDEXES:
        op.execute(statement)
    op.execute("CREATE INDEX IF NOT EXISTS ix_received_webhook_received_at ON received_webhook (received_at)")
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_delivery_body_kept ON delivery (created_at)"
        " WHERE body_text IS NOT NULL OR body_html IS NOT NULL OR payload IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_delivery_body_kept")
    op.execute("DROP INDEX IF EXISTS ix_received_webhook_received_at")
    op.execute("DROP INDEX IF EXISTS ix_processed_event_processed_at")
    op.execute("DROP INDEX IF EXISTS ix_outbox_message_sent_at")
