"""Templates, checklists and their items, timers, group members.

Revision ID: 0002_checklists
Revises: 0001_messaging
Create Date: 2026-12-02
"""

from alembic import op

from backoffice_checklists.models import TABLES, Base

revision = "0002_checklists"
down_revision = "0001_messaging"
branch_labels = None
depends_on = None

# The first schema of the service is exactly its models at this revision; later changes get
# explicit operations in their own revisions.


def upgrade() -> None:
    Base.metadata.create_all(op.get_bind(), tables=[Base.metadata.tables[t] for t in TABLES])


def downgrade() -> None:
    Base.metadata.drop_all(op.get_bind(), tables=[Base.metadata.tables[t] for t in reversed(TABLES)])
