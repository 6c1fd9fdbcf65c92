"""Indexes that keep the request lists flat as the table grows.

A requester's own list walks ``(requester_id, created_at DESC, id DESC)`` (it replaces the index on
``requester_id`` alone); ``q`` searches title and number through trigram indexes (``pg_trgm``, part of
PostgreSQL's contrib modules, shipped in Debian's ``postgresql`` package and a trusted extension that
the database owner may create) instead of a sequential scan. The trigram indexes have no GIN pending
list (``fastupdate = off``): requests are written one at a time, and a search would otherwise read the
whole unsorted pending list until the next vacuum (95 ms instead of 0.1 ms for an absent word after
40k rows were added).

Revision ID: 0005_list_indexes
Revises: 0004_cost_centres
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_list_indexes"
down_revision = "0004_cost_centres"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_purchase_request_requester_created",
        "purchase_request",
        [sa.text("requester_id"), sa.text("created_at DESC"), sa.text("id DESC")],
    )
    op.drop_index("ix_purchase_request_requester_id", table_name="purchase_request")
    for column in ("title", "number"):
        op.create_index(
            f"ix_purchase_request_{column}_trgm",
            "purchase_request",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
            postgresql_with={"fastupdate": "off"},
        )


def downgrade() -> None:
    for column in ("title", "number"):
        op.drop_index(f"ix_purchase_request_{column}_trgm", table_name="purchase_request")
    op.create_index("ix_purchase_request_requester_id", "purchase_request", ["requester_id"])
    op.drop_index("ix_purchase_request_requester_created", table_name="purchase_request")
