"""Contracts, signatures, refusals, templates (with the default en/de versions), vendor read model.

Revision ID: 0002_contracts
Revises: 0001_messaging
Create Date: 2026-11-27
"""

import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from backoffice_contracts.documents.pdf import default_template

revision = "0002_contracts"
down_revision = "0001_messaging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    templates = op.create_table(
        "contract_template",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("language", "version", name="uq_contract_template_language"),
    )
    op.bulk_insert(
        templates,
        [
            {
                "id": str(uuid.uuid4()),
                "language": language,
                "version": 1,
                "body": default_template(language),
                "description": "default template",
                "created_by": "system",
            }
            for language in ("en", "de")
        ],
    )
    op.create_table(
        "contract",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("request_id", UUID(as_uuid=False), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("request_number", sa.String(100), nullable=False),
        sa.Column("vendor_id", UUID(as_uuid=False), nullable=False),
        sa.Column("requester_id", sa.String(200), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("template_version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("signing_order", sa.String(20), nullable=False),
        sa.Column("document", sa.LargeBinary, nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("executed_document", sa.LargeBinary, nullable=True),
        sa.Column("executed_sha256", sa.String(64), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.Text, nullable=True),
        sa.UniqueConstraint("request_id", "revision", name="uq_contract_request_id"),
    )
    op.create_index("ix_contract_executed_sha256", "contract", ["executed_sha256"])
    op.create_index("ix_contract_request_id_all", "contract", ["request_id"])
    op.create_index(
        "ix_contract_open_expires_at",
        "contract",
        ["expires_at"],
        postgresql_where=sa.text("status IN ('awaiting_signatures', 'partially_signed')"),
    )
    op.create_table(
        "contract_signature",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("contract_id", UUID(as_uuid=False), sa.ForeignKey("contract.id"), nullable=False),
        sa.Column("party", sa.String(10), nullable=False),
        sa.Column("signer_id", sa.String(200), nullable=False),
        sa.Column("signer_name", sa.String(300), nullable=False),
        sa.Column("signer_email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(50), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_ip", sa.String(100), nullable=True),
        sa.Column("user_agent", sa.String(500), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=True),
        sa.UniqueConstraint("contract_id", "party", name="uq_contract_signature_contract_id"),
    )
    op.create_table(
        "signature_refusal",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("contract_id", sa.String(200), nullable=False, index=True),
        sa.Column("party", sa.String(10), nullable=False),
        sa.Column("signer_name", sa.String(300), nullable=False),
        sa.Column("signer_email", sa.String(320), nullable=False),
        sa.Column("document_sha256", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(50), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("client_ip", sa.String(100), nullable=True),
        sa.Column("user_agent", sa.String(500), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=True),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "vendor",
        sa.Column("vendor_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("legal_name", sa.String(300), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("contact_emails", JSONB, nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "cancelled_request",
        sa.Column("request_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    for table in (
        "cancelled_request",
        "vendor",
        "signature_refusal",
        "contract_signature",
        "contract",
        "contract_template",
    ):
        op.drop_table(table)
