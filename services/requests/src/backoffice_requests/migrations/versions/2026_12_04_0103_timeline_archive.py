"""Timeline segments in the object store: ``timeline_archive`` and the request's pointer to its segment.

Revision ID: 0103_timeline_archive
Revises: 0005_audit_log
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0103_timeline_archive"
down_revision = "0005_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timeline_archive",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("object_key", sa.String(300), nullable=False, unique=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column(
        "purchase_request",
        sa.Column(
            "timeline_archive_id",
            sa.BigInteger,
            sa.ForeignKey("timeline_archive.id", name="fk_purchase_request_timeline_archive_id_timeline_archive"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_column("purchase_request", "timeline_archive_id")
    op.drop_table("timeline_archive")
