"""The timeline's order as an index: ``(request_id, occurred_at, id)``, the order every read of a request's
timeline asks for (``ORDER BY occurred_at, id``), in place of ``(request_id, id)``, which gave the rows in
recording order for PostgreSQL to sort.

Nothing else needs the old index: the lookups by request (the foreign key's checks, the archive's
``request_id = ANY`` and its delete) use the new one's first column; the archive's ``ORDER BY request_id,
id`` is sorted over its batch instead (a job, a few thousand rows a batch).

Built and dropped ``CONCURRENTLY`` outside Alembic's transaction (``autocommit_block``): timeline_entry is
the largest table and takes writes on every event a request hears of; a plain ``CREATE INDEX`` would block
them while it builds. ``IF NOT EXISTS``: an index built beforehand under the same name is kept (a build that
failed half way leaves an INVALID index: drop it and run the revision again).

Revision ID: 0107_timeline_order_index
Revises: 0106_audit_head
Create Date: 2026-12-10
"""

from alembic import op

revision = "0107_timeline_order_index"
down_revision = "0106_audit_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_timeline_entry_request_id_occurred_at_id"
            " ON timeline_entry (request_id, occurred_at, id)"
        )
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_timeline_entry_request_id_id")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_timeline_entry_request_id_id ON timeline_entry (request_id, id)"
        )
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_timeline_entry_request_id_occurred_at_id")
