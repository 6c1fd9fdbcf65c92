"""Whether a request may have held-back events: ``request_hold.held_events``, set by a trigger on ``pending_event``.

Every request event read the request's held-back events (``pending_event``) after locking its hold: a
statement per event that nearly always found none. The hold's row, read by that lock anyway, now says
whether there may be any: an ``AFTER INSERT`` trigger on ``pending_event`` sets ``held_events`` on the
request's hold in the inserting transaction, whoever inserts (the service, the previous release's code
during a rolling upgrade, an operator's SQL); the service clears it, under the hold's lock, only once it
has seen that none are left. A hold whose flag is off has none, so its events skip the read. The flag is
back-filled from the rows held back now.

Revision ID: 0008_held_events
Revises: 0007_audit_append
Create Date: 2026-12-12
"""

from alembic import op

revision = "0008_held_events"
down_revision = "0007_audit_append"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS: a new database has it already (0002 creates ``request_hold`` from the models)
    op.execute("ALTER TABLE request_hold ADD COLUMN IF NOT EXISTS held_events boolean NOT NULL DEFAULT false")
    op.execute(
        "UPDATE request_hold h SET held_events = true"
        " WHERE EXISTS (SELECT 1 FROM pending_event p WHERE p.request_id = h.request_id)"
    )
    op.execute(
        """CREATE FUNCTION pending_event_held() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE request_hold SET held_events = true WHERE request_id = NEW.request_id AND NOT held_events;
            RETURN NULL;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER pending_event_held AFTER INSERT ON pending_event"
        " FOR EACH ROW EXECUTE FUNCTION pending_event_held()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER pending_event_held ON pending_event")
    op.execute("DROP FUNCTION pending_event_held()")
    op.execute("ALTER TABLE request_hold DROP COLUMN held_events")
