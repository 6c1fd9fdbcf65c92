"""The approver directory's version: a random UUID that every change of ``approver`` replaces.

A statement-level trigger on ``approver`` (INSERT, UPDATE, DELETE, TRUNCATE; whoever writes, the service or
an operator's SQL) sets ``directory_version.version`` to a new ``gen_random_uuid()`` in the same transaction.
The service keeps the directory it last read in memory under the version it read with it (one statement, one
snapshot), and reads only the version when it needs the directory again (``DirectoryRepository.load``): its
CPU no longer grows with the directory. A version is never reused, and one a rolled-back transaction wrote is
never seen by anyone else, so equal versions mean equal directories.

Revision ID: 0009_directory_version
Revises: 0008_audit_append
Create Date: 2026-12-11
"""

from alembic import op

revision = "0009_directory_version"
down_revision = "0008_audit_append"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE directory_version ("
        " id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),"
        " version uuid NOT NULL DEFAULT gen_random_uuid())"
    )
    op.execute("INSERT INTO directory_version (id) VALUES (1)")
    op.execute(
        """CREATE FUNCTION approver_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE directory_version SET version = gen_random_uuid() WHERE id = 1;
            RETURN NULL;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER approver_directory_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON approver"
        " FOR EACH STATEMENT EXECUTE FUNCTION approver_directory_changed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER approver_directory_version ON approver")
    op.execute("DROP FUNCTION approver_directory_changed()")
    op.execute("DROP TABLE directory_version")
