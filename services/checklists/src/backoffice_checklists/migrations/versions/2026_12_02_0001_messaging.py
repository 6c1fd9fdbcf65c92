"""Outbox and inbox tables.

Revision ID: 0001_messaging
Revises:
Create Date: 2026-12-02
"""

from alembic import op

from backoffice_common.messaging import create_messaging_tables, drop_messaging_tables

revision = "0001_messaging"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables(op.get_bind())


def downgrade() -> None:
    drop_messaging_tables(op.get_bind())
