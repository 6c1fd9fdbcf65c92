"""Cost centres, budgets, the ledger, request holds, budget checks, exchange rates, transfers.

Revision ID: 0002_budgets
Revises: 0001_messaging
Create Date: 2026-12-01
"""

from alembic import op

from backoffice_budgets.models import Base

revision = "0002_budgets"
down_revision = "0001_messaging"
branch_labels = None
depends_on = None

# The first schema of the service is exactly its models at this revision; later changes get
# explicit operations in their own revisions.
TABLES = ["cost_centre", "budget", "ledger_movement", "request_hold", "budget_check", "fx_rate", "transfer"]


def upgrade() -> None:
    Base.metadata.create_all(op.get_bind(), tables=[Base.metadata.tables[t] for t in TABLES])


def downgrade() -> None:
    Base.metadata.drop_all(op.get_bind(), tables=[Base.metadata.tables[t] for t in reversed(TABLES)])
