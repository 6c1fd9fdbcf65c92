"""The delivery's dedup key as a 16-byte digest (``bytea``) instead of its text.

Existing keys (``event_id|sha256-hex(channel|recipient|template)``) become the first 16 bytes of their
SHA-256, exactly what ``domain.deliveries.dedup_key`` now computes, so an event redelivered after the
upgrade still finds the delivery recorded before it. One ``ALTER TABLE`` rewrites the table and its
unique index (an exclusive lock for the time of the rewrite: a few seconds per million deliveries).

Downgrade keeps the digest as hex text (unique still, but the former code's keys would not match it).

Revision ID: 0006_dedup_key_digest
Revises: 0005_audit_anchors
Create Date: 2026-12-07
"""

from alembic import op

revision = "0006_dedup_key_digest"
down_revision = "0005_audit_anchors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE delivery ALTER COLUMN dedup_key TYPE bytea"
        " USING substring(sha256(convert_to(dedup_key, 'UTF8')) FROM 1 FOR 16)"
    )
    op.execute("ALTER TABLE delivery ADD CONSTRAINT ck_delivery_dedup_key_digest CHECK (octet_length(dedup_key) = 16)")


def downgrade() -> None:
    op.execute("ALTER TABLE delivery DROP CONSTRAINT ck_delivery_dedup_key_digest")
    op.execute("ALTER TABLE delivery ALTER COLUMN dedup_key TYPE varchar(400) USING encode(dedup_key, 'hex')")
