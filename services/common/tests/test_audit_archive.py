"""The audit log's archive on the real PostgreSQL and S3Proxy: old stretches of the chain go to the object store
under an anchor, only an anchored archive may delete rows, and the chain verifies across archive and live rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from test_audit_log import Ledger, admin, client, fact, ledger, record

from backoffice_common.audit_archive import (
    ARCHIVED_TYPE,
    BrokenChain,
    archive_audit,
    create_anchor_request_index,
    create_audit_anchors,
    drop_anchor_request_index,
    drop_audit_anchors,
    verify_archived_chain,
)
from backoffice_common.objectstore import ObjectStore, ObjectStoreSettings
from backoffice_common.testing import object_store_settings, unique_prefix


@asynccontextmanager
async def archived_ledger() -> AsyncIterator[tuple[Ledger, asyncpg.Connection, ObjectStore]]:
    """The audit log of ``test_audit_log`` with the anchors' migration, a plain connection (as a command has)
    and the S3Proxy under a prefix of its own."""
    async with ledger() as lg:
        conn = await asyncpg.connect(lg.dsn)
        migration = _Statements()
        create_audit_anchors(migration)
        create_anchor_request_index(migration)
        for statement in migration:
            await conn.execute(statement)
        prefix = f"{unique_prefix()}audit/"
        store = ObjectStore.from_settings(ObjectStoreSettings.model_validate(object_store_settings(prefix)))
        try:
            yield lg, conn, store
        finally:
            await store.close()
            await conn.close()


class _Statements(list[str]):
    """Takes the migration helper's statements, to run them on an asyncpg connection."""

    def exec_driver_sql(self, statement: str) -> None:
        self.append(statement)


def soon() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=1)


async def test_old_rows_go_to_anchored_segments_and_the_chain_verifies_across_archive_and_live_rows() -> None:
    async with archived_ledger() as (lg, conn, store):
        rid = str(uuid.uuid4())
        for n in range(7):
            await record(lg, fact(rid, "purchase_request.revised", n=n))

        report = await archive_audit(conn, store, service="demo", before=soon(), batch=3)

        # the rows there were when the run started (1-7); each segment appended its own entry (8, 9, 10),
        # which stays, so the table always holds the chain's head
        assert [(s["seq_from"], s["seq_to"]) for s in report.segments] == [(1, 3), (4, 6), (7, 7)]
        assert report.rows == 7
        live = await conn.fetch("SELECT seq, content FROM audit_entry ORDER BY seq")
        assert [r["seq"] for r in live] == [8, 9, 10]
        assert ARCHIVED_TYPE in live[0]["content"]
        assert '"seq_from":1' in live[0]["content"]
        assert '"seq_to":3' in live[0]["content"]
        anchors = await conn.fetch("SELECT object_key FROM audit_anchor ORDER BY seq_to")
        assert anchors[0]["object_key"].startswith("audit/demo/1-3-")
        # which segment holds which request's rows: GET /admin/audit?request_id= reads only those
        index = await conn.fetch("SELECT request_id, seq_to FROM audit_anchor_request ORDER BY seq_to")
        assert [(r["request_id"], r["seq_to"]) for r in index] == [(rid, 3), (rid, 6), (rid, 7)]
        assert await conn.fetchval("SELECT bool_and(indexed) FROM audit_anchor")

        await record(lg, fact(rid, "purchase_request.closed"))  # the chain goes on from its head
        verified = await verify_archived_chain(conn, store)
        assert verified.broken is None
        assert (verified.segments, verified.archived_rows, verified.live_rows) == (3, 7, 4)

        again = await archive_audit(conn, store, service="demo", before=datetime(2000, 1, 1, tzinfo=UTC))
        assert again.segments == []  # nothing recorded before 2000: a rerun archives nothing


async def test_rows_are_deleted_only_by_an_anchored_archive_transaction() -> None:
    async with archived_ledger() as (lg, conn, store):
        await record(lg, *(fact(str(uuid.uuid4())) for _ in range(4)))
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM audit_entry WHERE seq = 1")
        async with conn.transaction():
            await conn.execute("SELECT set_config('backoffice.audit_archive_upto', '3', true)")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):  # no anchor covers row 1 yet
                await conn.execute("DELETE FROM audit_entry WHERE seq = 1")
        await archive_audit(conn, store, service="demo", before=soon(), batch=2)
        async with conn.transaction():
            await conn.execute("SELECT set_config('backoffice.audit_archive_upto', '100', true)")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):  # beyond the highest anchor
                await conn.execute("DELETE FROM audit_entry WHERE seq = (SELECT max(seq) FROM audit_entry)")
        for statement in (
            "TRUNCATE audit_entry",
            "UPDATE audit_anchor SET sha256 = 'x'",
            "DELETE FROM audit_anchor",
            "TRUNCATE audit_anchor",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
        assert (await verify_archived_chain(conn, store)).broken is None


async def test_a_changed_or_lost_segment_is_the_first_broken_link() -> None:
    async with archived_ledger() as (lg, conn, store):
        await record(lg, *(fact(str(uuid.uuid4())) for _ in range(5)))
        report = await archive_audit(conn, store, service="demo", before=soon(), batch=2)
        first, second = report.segments[0], report.segments[1]

        await store.put(second["object_key"], b"\x1f\x8b rewritten history")
        broken = (await verify_archived_chain(conn, store)).broken
        assert broken is not None
        assert broken.seq == second["seq_from"]
        assert "changed" in broken.reason

        await store.delete(first["object_key"])
        broken = (await verify_archived_chain(conn, store)).broken
        assert broken is not None
        assert (broken.seq, "missing" in broken.reason) == (1, True)


async def test_a_broken_chain_is_never_archived() -> None:
    async with archived_ledger() as (lg, conn, store):
        await record(lg, *(fact(str(uuid.uuid4())) for _ in range(4)))
        await conn.execute("SET session_replication_role = replica")  # a superuser switching the trigger off
        await conn.execute("UPDATE audit_entry SET content = replace(content, 'submitted', 'approved') WHERE seq = 2")
        await conn.execute("RESET session_replication_role")

        with pytest.raises(BrokenChain) as refused:
            await archive_audit(conn, store, service="demo", before=soon())

        assert refused.value.broken.seq == 2
        assert await conn.fetchval("SELECT count(*) FROM audit_anchor") == 0
        assert await conn.fetchval("SELECT count(*) FROM audit_entry") == 4


async def test_the_migration_goes_back_to_the_plain_append_only_log() -> None:
    async with archived_ledger() as (lg, conn, _):
        await record(lg, fact(str(uuid.uuid4())))
        downgrade = _Statements()
        drop_anchor_request_index(downgrade)
        drop_audit_anchors(downgrade)
        for statement in downgrade:
            await conn.execute(statement)

        assert await conn.fetchval("SELECT to_regclass('audit_anchor')") is None
        async with conn.transaction():
            await conn.execute("SELECT set_config('backoffice.audit_archive_upto', '100', true)")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM audit_entry WHERE seq = 1")


async def test_a_request_s_archived_facts_are_read_from_the_segments_that_hold_them_only() -> None:
    async with archived_ledger() as (lg, conn, store):
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        for rid in (first, first, first, second, second, second):
            await record(lg, fact(rid))
        report = await archive_audit(conn, store, service="demo", before=soon(), batch=3)
        assert [(s["seq_from"], s["seq_to"]) for s in report.segments] == [(1, 3), (4, 6)]
        lg.app.state.audit_archive = store
        await store.put(report.segments[0]["object_key"], b"\x1f\x8b rewritten history")  # first's segment

        async with client(lg) as http:
            seconds = await http.get("/admin/audit", params={"request_id": second}, headers=admin())
            firsts = await http.get("/admin/audit", params={"request_id": first}, headers=admin())
        assert seconds.status_code == 200, seconds.text  # the changed segment holds none of its rows: not read
        assert [r["seq"] for r in seconds.json()] == [4, 5, 6]
        assert firsts.status_code == 503  # the changed segment is read (this bare app maps no store errors: 503)
