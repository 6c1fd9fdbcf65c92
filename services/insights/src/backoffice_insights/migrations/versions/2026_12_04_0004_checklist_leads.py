"""Onboarding and offboarding lead times: one row per checklist.

Revision ID: 0004_checklist_leads
Revises: 0102_retention_indexes
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_checklist_leads"
down_revision = "0102_retention_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checklist_lead",
        sa.Column("checklist_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("template_key", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("checklist_id", name=op.f("pk_checklist_lead")),
    )
    op.create_index("ix_checklist_lead_kind_ended", "checklist_lead", ["kind", "ended_at"])


def downgrade() -> None:
    op.drop_index("ix_checklist_lead_kind_ended", table_name="checklist_lead")
    op.drop_table("checklist_lead")
