"""The audit log on the real PostgreSQL: the unit of work appends a hash chain, the database refuses
changes, the admin API exports a request's facts, and `backoffice audit verify` names the first
broken link after a row was tampered with as the database superuser."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from backoffice_cli import audit as audit_cli
from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_common.audit import (
    GENESIS,
    HEAD_SQL,
    create_audit_append,
    create_audit_head,
    create_audit_table,
    drop_audit_append,
    hash_of,
    insert_statement,
    lock_head,
    verify_chain,
)
from backoffice_common.auth import mint_token
from backoffice_common.db import driver_connection, make_engine, make_session_factory, new_metadata
from backoffice_common.events import new_event
from backoffice_common.messaging import MessagingTables, messaging_tables
from backoffice_common.settings import DEV_JWT_SECRET, ServiceSettings
from backoffice_common.testing import private_database
from backoffice_common.uow import UnitOfWork


@dataclass
class Ledger:
    dsn: str
    tables: MessagingTables
    app: FastAPI

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.app.state.session_factory, tables=self.tables, service="demo")


@asynccontextmanager
async def ledger() -> AsyncIterator[Ledger]:
    async with private_database() as url:
        tables = messaging_tables(new_metadata(), audit=True)
        engine = make_engine(url, pool_size=5)
        async with engine.begin() as conn:
            await conn.run_sync(tables.outbox.create)
            await conn.run_sync(tables.inbox.create)
            await conn.run_sync(create_audit_table)
            await conn.run_sync(create_audit_head)
        spec = ServiceSpec(name="demo", title="Demo", description="Demo", version="0", tables=tables)
        app = create_service_app(spec, ServiceSettings(jwt_secret=DEV_JWT_SECRET))
        app.state.session_factory = make_session_factory(engine)
        try:
            yield Ledger(url.replace("postgresql+asyncpg://", "postgresql://", 1), tables, app)
        finally:
            await engine.dispose()


def fact(request_id: str, type: str = "purchase_request.submitted", **data: object) -> object:
    return new_event(type=type, service="demo", subject=request_id, data={"request_id": request_id, **data})


async def record(lg: Ledger, *events: object) -> None:
    async with lg.uow() as uow:
        for event in events:
            uow.publish(event, topic="demo.facts")  # type: ignore[arg-type]
        await uow.commit()


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(secret=DEV_JWT_SECRET, sub='auditor', roles=['admin'])}"}


@asynccontextmanager
async def client(lg: Ledger) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=lg.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.test") as c:
        yield c


async def test_every_published_fact_is_chained_in_the_same_transaction_and_concurrent_writers_keep_one_order() -> None:
    async with ledger() as lg:
        first = str(uuid.uuid4())
        await record(lg, fact(first), fact(first, "purchase_request.approved", actor={"id": "dave"}))
        async with lg.uow() as uow:  # rolled back: neither outbox nor audit keeps it
            uow.publish(fact(first, "purchase_request.cancelled"), topic="demo.facts")  # type: ignore[arg-type]
            await uow.flush_events()
        await asyncio.gather(*(record(lg, fact(str(uuid.uuid4()))) for _ in range(20)))
        async with client(lg) as c:
            rows = (await c.get("/admin/audit/chain", headers=admin())).json()
        assert [r["seq"] for r in rows] == list(range(1, 23))
        assert rows[0]["prev_hash"] == GENESIS
        assert all(r["prev_hash"] == p["hash"] for p, r in itertools.pairwise(rows))
        assert verify_chain(rows) is None
        assert [json.loads(r["content"])["type"] for r in rows[:2]] == [
            "purchase_request.submitted",
            "purchase_request.approved",
        ]


async def test_the_database_refuses_to_update_delete_or_truncate_an_audit_row() -> None:
    async with ledger() as lg:
        await record(lg, fact(str(uuid.uuid4())))
        conn = await asyncpg.connect(lg.dsn)
        try:
            for statement in (
                "UPDATE audit_entry SET content = '{}'",
                "DELETE FROM audit_entry",
                "TRUNCATE audit_entry",
            ):
                with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                    await conn.execute(statement)
            assert await conn.fetchval("SELECT count(*) FROM audit_entry") == 1
        finally:
            await conn.close()


async def test_a_request_audit_is_exported_as_json_and_csv_for_admins_only() -> None:
    async with ledger() as lg:
        mine, other = str(uuid.uuid4()), str(uuid.uuid4())
        await record(lg, fact(mine), fact(other), fact(mine, "purchase_request.closed", note='Grüße, "quoted"'))
        async with client(lg) as c:
            rows = (await c.get("/admin/audit", params={"request_id": mine}, headers=admin())).json()
            assert [json.loads(r["content"])["type"] for r in rows] == [
                "purchase_request.submitted",
                "purchase_request.closed",
            ]
            r = await c.get("/admin/audit", params={"request_id": mine, "format": "csv"}, headers=admin())
            assert r.headers["content-type"].startswith("text/csv")
            table = list(csv.DictReader(io.StringIO(r.text)))
            assert [row["type"] for row in table] == ["purchase_request.submitted", "purchase_request.closed"]
            assert json.loads(table[1]["data"])["note"] == 'Grüße, "quoted"'
            assert (await c.get("/admin/audit", params={"request_id": mine})).status_code == 401
            requester = mint_token(secret=DEV_JWT_SECRET, sub="rita", roles=["requester"])
            forbidden = await c.get(
                "/admin/audit", params={"request_id": mine}, headers={"Authorization": f"Bearer {requester}"}
            )
            assert forbidden.status_code == 403
            assert (await c.get("/admin/audit", params={"request_id": "x' OR 1=1"}, headers=admin())).status_code == 422


async def test_the_csv_export_neutralises_cells_a_spreadsheet_would_run_as_formulas() -> None:
    async with ledger() as lg:
        request_id = "-1-1"  # the request id pattern allows a leading minus
        event = new_event(
            type="purchase_request.submitted",
            service="demo",
            subject='=HYPERLINK("http://evil.test","x")',
            data={"request_id": request_id, "title": "@SUM(A1)"},
        )
        await record(lg, event)
        async with client(lg) as c:
            r = await c.get("/admin/audit", params={"request_id": request_id, "format": "csv"}, headers=admin())
        assert r.status_code == 200
        [row] = list(csv.DictReader(io.StringIO(r.text)))
        assert row["subject"] == '\'=HYPERLINK("http://evil.test","x")'
        assert row["request_id"] == "'-1-1"
        assert row["type"] == "purchase_request.submitted"  # plain text untouched
        assert json.loads(row["data"])["title"] == "@SUM(A1)"  # inside the JSON object: not a formula


def test_the_cli_export_neutralises_formula_cells_too() -> None:
    fact = {"time": "2026-11-30T07:00:00+00:00", "service": "demo", "seq": 1, "type": "+cmd", "subject": "@x"}
    [row] = list(csv.DictReader(io.StringIO(audit_cli.as_csv([{**fact, "request_id": "-1", "data": {"a": 1}}]))))
    assert (row["type"], row["subject"], row["request_id"], row["seq"]) == ("'+cmd", "'@x", "'-1", "1")


async def test_verify_names_the_first_row_a_superuser_changed_and_a_rehashed_row_breaks_the_next_link() -> None:
    async with ledger() as lg:
        request_id = str(uuid.uuid4())
        await record(lg, *(fact(request_id, amount=str(n)) for n in range(5)))
        async with client(lg) as c:
            services = {"demo": "http://demo.test"}
            assert str((await audit_cli.verify(c, services))[0]) == "demo: 5 rows, chain intact"
            conn = await asyncpg.connect(lg.dsn)
            try:
                # A superuser can switch the triggers off for the session; the chain still tells.
                await conn.execute("SET session_replication_role = replica")
                await conn.execute(
                    "UPDATE audit_entry SET content = replace(content, '\"2\"', '\"2000\"') WHERE seq = 3"
                )
                [report] = await audit_cli.verify(c, services)
                assert report.broken is not None
                assert (report.broken.seq, report.broken.reason) == (3, "the content does not match the row's hash")
                row = await conn.fetchrow("SELECT prev_hash, content FROM audit_entry WHERE seq = 3")
                rehashed = hash_of(3, row["prev_hash"], row["content"])
                await conn.execute("UPDATE audit_entry SET hash = $1 WHERE seq = 3", rehashed)
                [report] = await audit_cli.verify(c, services)
                assert report.broken is not None
                assert (report.broken.seq, report.broken.reason) == (4, "prev_hash is not the hash of the row before")
                await conn.execute("DELETE FROM audit_entry WHERE seq = 2")
                [report] = await audit_cli.verify(c, services)
                assert report.broken is not None
                assert report.broken.seq == 2
                assert "missing" in report.broken.reason
            finally:
                await conn.close()


def test_verification_continues_page_by_page_from_the_last_verified_row() -> None:
    rows, prev = [], GENESIS
    for seq in range(1, 6):
        content = json.dumps({"request_id": None, "n": seq})
        digest = hash_of(seq, prev, content)
        rows.append({"seq": seq, "prev_hash": prev, "content": content, "hash": digest})
        prev = digest
    assert verify_chain(rows[:2]) is None
    assert verify_chain(rows[2:], after=(2, rows[1]["hash"])) is None
    broken = verify_chain(rows[2:], after=(2, "f" * 64))
    assert broken is not None
    assert broken.seq == 3


async def chain_rows(dsn: str) -> list[dict[str, object]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch("SELECT * FROM audit_entry ORDER BY seq")]
    finally:
        await conn.close()


async def test_an_audited_unit_of_work_locks_and_reads_the_chain_head_in_one_round_trip() -> None:
    async with ledger() as lg:
        await record(lg, fact(str(uuid.uuid4())))
        sent: list[str] = []
        async with lg.uow() as uow:
            conn = await driver_connection(uow.session)  # the transaction begun, as a handler's first read does

            def log(query: asyncpg.connection.LoggedQuery) -> None:
                sent.append(query.query)

            conn.add_query_logger(log)
            try:
                uow.publish(fact(str(uuid.uuid4())), topic="demo.facts")  # type: ignore[arg-type]
                await uow.commit()
                # asyncpg calls the query loggers soon after each statement (call_soon), not in it: let them
                # run before the logger is removed, so the list is whole whatever the scheduling (without
                # this the last one or two were in it or not, depending on when the block's exit yielded).
                await asyncio.sleep(0)
            finally:
                conn.remove_query_logger(log)
        # The statements sent on the driver connection: the commit statement (outbox, notify, and the entries
        # through the database's function, which locks the chain and reads its head), then asyncpg's COMMIT.
        # No LOCK TABLE and no head read of its own: two round trips before the head function (the seventh
        # round), one with it (the eighth: [HEAD_SQL, commit statement, COMMIT]), none since the ninth.
        assert sent == [sent[0], "COMMIT"]
        assert sent[0].startswith("WITH w0 AS (INSERT INTO outbox_message")
        assert "SELECT audit_entry_append($1::timestamptz, $2::text[], $3::text[]), pg_notify(" in sent[0]
        assert HEAD_SQL not in sent
        assert len(await chain_rows(lg.dsn)) == 2


async def test_the_head_function_holds_the_chain_until_commit_and_reads_after_its_lock() -> None:
    async with ledger() as lg:
        first = await asyncpg.connect(lg.dsn)
        second = await asyncpg.connect(lg.dsn)
        try:
            async with first.transaction():
                assert await lock_head(first) == (0, GENESIS)  # an empty chain starts at the genesis
                held = await second.fetchval(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                    " WHERE c.relname = 'audit_entry' AND l.mode = 'ExclusiveLock' AND l.granted AND l.pid = $1",
                    first.get_server_pid(),
                )
                assert held == 1
                waiting = asyncio.create_task(record(lg, fact(str(uuid.uuid4()))))
                await asyncio.sleep(0.3)
                assert not waiting.done()  # the unit of work waits for the chain
                content = json.dumps({"request_id": None, "n": 1}, separators=(",", ":"))
                await first.execute(
                    "INSERT INTO audit_entry (seq, recorded_at, request_id, content, prev_hash, hash)"
                    " VALUES (1, now(), NULL, $1, $2, $3)",
                    content,
                    GENESIS,
                    hash_of(1, GENESIS, content),
                )
            await waiting  # continues from the row committed while it waited: its read came after the lock
        finally:
            await first.close()
            await second.close()
        rows = await chain_rows(lg.dsn)
        assert [r["seq"] for r in rows] == [1, 2]
        assert verify_chain(rows) is None


async def test_concurrent_appenders_new_and_old_keep_one_chain() -> None:
    """Units of work (some rolled back, several entries each) and appenders of the code before the head
    function (LOCK TABLE, then the last entry: a pod not yet replaced in a rolling update), all at once."""
    async with ledger() as lg:

        async def several(n: int, *, keep: bool) -> None:
            async with lg.uow() as uow:
                for _ in range(n):
                    uow.publish(fact(str(uuid.uuid4())), topic="demo.facts")  # type: ignore[arg-type]
                await uow.flush_events()
                await asyncio.sleep(0.01)  # hold the chain while the others queue behind it
                if keep:
                    await uow.commit()

        async def old_code() -> None:
            conn = await asyncpg.connect(lg.dsn)
            try:
                async with conn.transaction():
                    await conn.execute("LOCK TABLE audit_entry IN EXCLUSIVE MODE")
                    last = await conn.fetchrow("SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1")
                    seq, prev = (last["seq"], last["hash"]) if last else (0, GENESIS)
                    content = json.dumps({"request_id": None, "type": "old.code"}, separators=(",", ":"))
                    await conn.execute(
                        "INSERT INTO audit_entry (seq, recorded_at, request_id, content, prev_hash, hash)"
                        " VALUES ($1, now(), NULL, $2, $3, $4)",
                        seq + 1,
                        content,
                        prev,
                        hash_of(seq + 1, prev, content),
                    )
            finally:
                await conn.close()

        await asyncio.gather(
            *(several(1 + i % 3, keep=i % 4 != 3) for i in range(24)),
            *(old_code() for _ in range(6)),
        )
        kept = sum(1 + i % 3 for i in range(24) if i % 4 != 3) + 6
        rows = await chain_rows(lg.dsn)
        assert [r["seq"] for r in rows] == list(range(1, kept + 1))
        assert verify_chain(rows) is None


class _Statements(list[str]):
    """Takes a migration helper's statements, to run them on an asyncpg connection."""

    def exec_driver_sql(self, statement: str) -> None:
        self.append(statement)


async def test_the_head_migration_on_a_chain_that_has_entries_continues_it() -> None:
    async with ledger() as lg:
        conn = await asyncpg.connect(lg.dsn)
        try:
            await conn.execute("DROP FUNCTION audit_entry_head()")  # the database before the migration
            content = json.dumps({"request_id": None, "n": 1}, separators=(",", ":"))
            await conn.execute(
                "INSERT INTO audit_entry (seq, recorded_at, request_id, content, prev_hash, hash)"
                " VALUES (1, now(), NULL, $1, $2, $3)",
                content,
                GENESIS,
                hash_of(1, GENESIS, content),
            )
            migration = _Statements()
            create_audit_head(migration)
            for statement in migration:
                await conn.execute(statement)
        finally:
            await conn.close()
        await record(lg, fact(str(uuid.uuid4())), fact(str(uuid.uuid4())))
        rows = await chain_rows(lg.dsn)
        assert [r["seq"] for r in rows] == [1, 2, 3]
        assert verify_chain(rows) is None


async def test_the_database_hashes_each_entry_as_verify_chain_does_whatever_the_content() -> None:
    """The entries the commit statement appends are hashed in the database (``audit_entry_append``): the same
    SHA-256 over seq, prev_hash and the content's UTF-8 as ``hash_of``, for text that is not ASCII, has
    newlines, backslashes, quotes or characters outside the BMP; several entries in one unit of work and a
    fact recorded without an event continue one chain; a rolled-back append leaves no gap."""
    awkward = [
        'Grüße, "quoted" \\ back\\slash',
        "line\nbreak\r\ttab",
        "emoji \U0001f9fe and \u00e9\u0301 and \u4e2d\u6587",
        "$1 ' E'x' -- ;COMMIT; \\x00",
        "",
    ]
    async with ledger() as lg:
        request_id = str(uuid.uuid4())
        await record(lg, *(fact(request_id, note=text) for text in awkward))
        async with lg.uow() as uow:  # rolled back: its entries never exist, the next continues from seq 5
            uow.publish(fact(request_id, note="rolled back"), topic="demo.facts")  # type: ignore[arg-type]
            await uow.flush_events()
        async with lg.uow() as uow:
            uow.record_fact(type="policy.changed", subject="p-1", data={"text": awkward[2]})
            await uow.commit()
        await record(lg, fact(request_id, note=awkward[0]))
        rows = await chain_rows(lg.dsn)
    assert [r["seq"] for r in rows] == list(range(1, 8))
    assert verify_chain(rows) is None
    for row in rows:
        assert row["hash"] == hash_of(int(row["seq"]), str(row["prev_hash"]), str(row["content"]))
    assert [json.loads(str(r["content"]))["data"].get("note") for r in rows[:5]] == awkward
    assert json.loads(str(rows[5]["content"]))["type"] == "policy.changed"
    assert [r["request_id"] for r in rows] == [request_id] * 5 + [None, request_id]


async def test_the_append_migration_continues_a_chain_written_before_it_and_its_downgrade_removes_it() -> None:
    async with ledger() as lg:
        conn = await asyncpg.connect(lg.dsn)
        try:
            downgrade = _Statements()
            drop_audit_append(downgrade)  # the database of the head migration (0006 and the like): no append
            for statement in downgrade:
                await conn.execute(statement)
            assert await conn.fetchval("SELECT to_regproc('audit_entry_append')") is None
            async with conn.transaction():  # the code of the previous release: the head function
                seq, prev = await lock_head(conn)
                content = json.dumps({"request_id": None, "n": 1}, separators=(",", ":"))
                await conn.execute(
                    "INSERT INTO audit_entry (seq, recorded_at, request_id, content, prev_hash, hash)"
                    " VALUES ($1, now(), NULL, $2, $3, $4)",
                    seq + 1,
                    content,
                    prev,
                    hash_of(seq + 1, prev, content),
                )
            upgrade = _Statements()
            create_audit_append(upgrade)
            for statement in [*upgrade, *upgrade]:  # CREATE OR REPLACE: a second run changes nothing
                await conn.execute(statement)
        finally:
            await conn.close()
        await record(lg, fact(str(uuid.uuid4())), fact(str(uuid.uuid4())))
        rows = await chain_rows(lg.dsn)
        assert [r["seq"] for r in rows] == [1, 2, 3]
        assert verify_chain(rows) is None


async def test_appenders_through_the_head_function_and_through_the_append_function_keep_one_chain() -> None:
    """The archive and the previous release append with ``insert_statement`` (``audit_entry_head()``, the hash
    in Python); the unit of work with ``audit_entry_append``: both take the same lock, one chain."""
    async with ledger() as lg:

        async def by_head() -> None:
            conn = await asyncpg.connect(lg.dsn)
            try:
                async with conn.transaction():
                    sql, args = await insert_statement(conn, "audit_entry", [fact(str(uuid.uuid4()))], service="demo")
                    await asyncio.sleep(0.01)
                    await conn.execute(sql, *args)
            finally:
                await conn.close()

        await asyncio.gather(
            *(record(lg, *(fact(str(uuid.uuid4())) for _ in range(1 + i % 3))) for i in range(16)),
            *(by_head() for _ in range(8)),
        )
        rows = await chain_rows(lg.dsn)
        kept = sum(1 + i % 3 for i in range(16)) + 8
        assert [r["seq"] for r in rows] == list(range(1, kept + 1))
        assert verify_chain(rows) is None
