"""Purchase requests, revisions, timeline, approver assignments, vendor read model, idempotency keys.

Revision ID: 0002_purchase_requests
Revises: 0001_messaging
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002_purchase_requests"
down_revision = "0001_messaging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE purchase_request_number_seq")
    op.create_table(
        "purchase_request",
        sa.Column("id", UUID(as_uuid=False), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("requester_id", sa.String(200), nullable=False),
        sa.Column("requester_name", sa.String(200), nullable=False),
        sa.Column("requester_email", sa.String(320), nullable=False),
        sa.Column("requester_department", sa.String(100), nullable=True),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("vendor_id", sa.String(100), nullable=False),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total", sa.Numeric(24, 6), nullable=False),
        sa.Column("received", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_purchase_request"),
        sa.UniqueConstraint("number", name="uq_purchase_request_number"),
    )
    op.create_index("ix_purchase_request_requester_id", "purchase_request", ["requester_id"])
    op.create_index("ix_purchase_request_status", "purchase_request", ["status"])
    op.create_index("ix_purchase_request_vendor_id", "purchase_request", ["vendor_id"])
    op.create_index("ix_purchase_request_department", "purchase_request", ["department"])
    op.create_index("ix_purchase_request_created_at_id", "purchase_request", ["created_at", "id"])

    op.create_table(
        "request_revision",
        sa.Column("request_id", UUID(as_uuid=False), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("created_by", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("request_id", "revision", name="pk_request_revision"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["purchase_request.id"], name="fk_request_revision_request_id_purchase_request"
        ),
    )

    op.create_table(
        "timeline_entry",
        sa.Column("id", sa.BigInteger, autoincrement=True, nullable=False),
        sa.Column("request_id", UUID(as_uuid=False), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("actor", JSONB, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("status_after", sa.String(40), nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_timeline_entry"),
        sa.UniqueConstraint("event_id", name="uq_timeline_entry_event_id"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["purchase_request.id"], name="fk_timeline_entry_request_id_purchase_request"
        ),
    )
    op.create_index("ix_timeline_entry_request_id_id", "timeline_entry", ["request_id", "id"])

    op.create_table(
        "approver_assignment",
        sa.Column("request_id", UUID(as_uuid=False), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("task_id", sa.String(200), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("request_id", "user_id", name="pk_approver_assignment"),
    )
    op.create_index("ix_approver_assignment_user_id", "approver_assignment", ["user_id"])

    op.create_table(
        "vendor",
        sa.Column("vendor_id", sa.String(100), nullable=False),
        sa.Column("legal_name", sa.String(300), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("record", JSONB, nullable=False),
        sa.Column("record_updated_at", sa.String(40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("vendor_id", name="pk_vendor"),
    )

    op.create_table(
        "idempotency_record",
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("body", JSONB, nullable=True),
        sa.Column("headers", JSONB, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_idempotency_record"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_record")
    op.drop_table("vendor")
    op.drop_index("ix_approver_assignment_user_id", table_name="approver_assignment")
    op.drop_table("approver_assignment")
    op.drop_table("timeline_entry")
    op.drop_table("request_revision")
    op.drop_table("purchase_request")
    op.execute("DROP SEQUENCE purchase_request_number_seq")
