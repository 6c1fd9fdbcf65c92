"""Purchase items: what an item orders and the purchase request id it named.

Revision ID: 0003_purchases
Revises: 0002_checklists
Create Date: 2026-12-04
"""

from alembic import op

revision = "0003_purchases"
down_revision = "0002_checklists"
branch_labels = None
depends_on = None

# 0002 creates the tables from the models as they are now, so on a new database these already
# exist: IF NOT EXISTS makes this revision a no-op there and an upgrade on a database made before it.


def upgrade() -> None:
    op.execute("ALTER TABLE checklist_item ADD COLUMN IF NOT EXISTS purchase JSONB")
    op.execute("ALTER TABLE checklist_item ADD COLUMN IF NOT EXISTS purchase_request_id VARCHAR(36)")
    op.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS ix_checklist_item_purchase_request ON checklist_item (purchase_request_id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_checklist_item_purchase_request")
    op.execute("ALTER TABLE checklist_item DROP COLUMN IF EXISTS purchase_request_id")
    op.execute("ALTER TABLE checklist_item DROP COLUMN IF EXISTS purchase")
