"""Contract PDFs in object storage: the row keeps the object's key (the SHA-256 columns were there already).

Rows written before this revision keep their PDFs in ``document`` / ``executed_document`` and stay
readable (the hash is checked on those reads too); new rows leave them NULL. A row has one or the other.

Revision ID: 0101_documents_in_object_store
Revises: 0002_contracts
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0101_documents_in_object_store"
down_revision = "0002_contracts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contract", sa.Column("document_key", sa.String(300), nullable=True))
    op.add_column("contract", sa.Column("executed_key", sa.String(300), nullable=True))
    op.alter_column("contract", "document", existing_type=sa.LargeBinary, nullable=True)
    op.create_check_constraint(
        "ck_contract_draft_stored", "contract", "document IS NOT NULL OR document_key IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_constraint("ck_contract_draft_stored", "contract", type_="check")
    op.execute("DELETE FROM contract WHERE document IS NULL")
    op.alter_column("contract", "document", existing_type=sa.LargeBinary, nullable=False)
    op.drop_column("contract", "executed_key")
    op.drop_column("contract", "document_key")
