"""Vendors, secrets, read models, deliveries, links, received webhooks.

Revision ID: 0002_notifications
Revises: 0001_messaging
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002_notifications"
down_revision = "0001_messaging"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "vendor",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("legal_name", sa.String(300), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("contact_emails", JSONB, nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("webhook_url", sa.String(2000), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_vendor"),
    )
    op.create_table(
        "vendor_secret",
        sa.Column("id", sa.String(36)),
        sa.Column("vendor_id", sa.String(36), nullable=False),
        sa.Column("ciphertext", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_vendor_secret"),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendor.id"], name="fk_vendor_secret_vendor_id_vendor"),
    )
    op.create_index("ix_vendor_secret_vendor_id", "vendor_secret", ["vendor_id"])
    op.create_table(
        "order_view",
        sa.Column("request_id", sa.String(36)),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("vendor_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("snapshot", JSONB, nullable=False),
        sa.Column("sent_to_vendor_id", sa.String(36), nullable=True),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("request_id", name="pk_order_view"),
    )
    op.create_table(
        "contract_view",
        sa.Column("contract_id", sa.String(36)),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("vendor_id", sa.String(36), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.Column("document_url", sa.String(2000), nullable=False),
        sa.Column("expires_at", TZ, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("signed_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("contract_id", name="pk_contract_view"),
    )
    op.create_index("ix_contract_view_request_id", "contract_view", ["request_id"])
    op.create_table(
        "delivery",
        sa.Column("id", sa.String(36)),
        sa.Column("dedup_key", sa.String(400), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("correlation_id", sa.String(200), nullable=True),
        sa.Column("request_id", sa.String(36), nullable=True),
        sa.Column("revision", sa.Integer, nullable=True),
        sa.Column("vendor_id", sa.String(36), nullable=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("recipient", sa.String(2000), nullable=False),
        sa.Column("template", sa.String(60), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("subject", sa.Text, nullable=True),
        sa.Column("body_text", sa.Text, nullable=True),
        sa.Column("body_html", sa.Text, nullable=True),
        sa.Column("payload", JSONB, nullable=True),
        sa.Column("notifies_vendor", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_delivery"),
        sa.UniqueConstraint("dedup_key", name="uq_delivery_dedup_key"),
    )
    op.create_index("ix_delivery_request_id", "delivery", ["request_id"])
    op.create_index("ix_delivery_due", "delivery", ["next_attempt_at"], postgresql_where=sa.text("status = 'pending'"))
    op.create_table(
        "vendor_link",
        sa.Column("id", sa.String(36)),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("vendor_id", sa.String(36), nullable=False),
        sa.Column("contract_id", sa.String(36), nullable=True),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_vendor_link"),
    )
    op.create_table(
        "vendor_notification",
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("vendor_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("notified_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("request_id", "revision", name="pk_vendor_notification"),
    )
    op.create_table(
        "received_webhook",
        sa.Column("vendor_id", sa.String(36), nullable=False),
        sa.Column("webhook_id", sa.String(200), nullable=False),
        sa.Column("received_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("vendor_id", "webhook_id", name="pk_received_webhook"),
    )


def downgrade() -> None:
    for table in (
        "received_webhook",
        "vendor_notification",
        "vendor_link",
        "delivery",
        "contract_view",
        "order_view",
        "vendor_secret",
        "vendor",
    ):
        op.drop_table(table)
