"""Stored facts trimmed to the fields the fold reads (``domain.fold.FOLD_FIELDS``).

New facts are stored trimmed by the consumer; this revision trims the facts stored before, in
batches of 5,000 rows in event-id order (bounded memory; one transaction, as every revision). A
refold from the trimmed facts gives the same views, so nothing else changes and nothing is queued.
The space is reused by new facts; ``VACUUM FULL fact`` returns it to the file system.

Downgrade changes nothing: the fields dropped are gone (the topics still hold the whole events).

Revision ID: 0005_fact_fold_fields
Revises: 0004_checklist_leads
Create Date: 2026-12-07
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from backoffice_insights.domain.fold import fold_fields

revision = "0005_fact_fold_fields"
down_revision = "0004_checklist_leads"
branch_labels = None
depends_on = None

BATCH = 5000

_PAGE = sa.text("SELECT event_id, type, data FROM fact WHERE event_id > :after ORDER BY event_id LIMIT :limit")
_TRIM = sa.text(
    "UPDATE fact SET data = CAST(u.data AS jsonb)"
    " FROM unnest(CAST(:ids AS text[]), CAST(:data AS text[])) AS u(id, data) WHERE fact.event_id = u.id"
)


def upgrade() -> None:
    bind = op.get_bind()
    after = ""
    while rows := bind.execute(_PAGE, {"after": after, "limit": BATCH}).all():
        ids: list[str] = []
        trimmed: list[str] = []
        for event_id, event_type, data in rows:
            whole: Any = json.loads(data) if isinstance(data, str) else data
            kept = fold_fields(event_type, whole) if isinstance(whole, dict) else {}
            if kept != whole:
                ids.append(event_id)
                trimmed.append(json.dumps(kept))
        if ids:
            bind.execute(_TRIM, {"ids": ids, "data": trimmed})
        after = rows[-1][0]


def downgrade() -> None:
    pass
