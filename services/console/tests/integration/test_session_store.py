"""The console's session store in its own PostgreSQL database: shared by two instances, kept over a
restart, ended everywhere by a sign-out, expired when idle; the database holds no usable cookie and
no readable token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from cryptography.fernet import Fernet
from platform_kit import create_databases, drop_databases

import backoffice_console
from backoffice_common.migrations import upgrade
from backoffice_console.sessions import FLASH_LIMIT, SessionDatabase, SessionStore, key_of

MIGRATIONS = Path(backoffice_console.__file__).parent / "migrations"


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    urls = await create_databases(["console"])
    await asyncio.to_thread(upgrade, MIGRATIONS, urls["console"])
    yield urls["console"]
    await drop_databases(urls.values())


def _store(url: str, key: str, idle: int = 1800) -> SessionStore:
    return SessionStore(
        idle_seconds=idle, max_seconds=36000, max_sessions=10, database=SessionDatabase(url, key), seen_resolution=0
    )


async def test_sessions_are_shared_by_two_instances_survive_a_restart_and_end_everywhere(database_url: str) -> None:
    key = Fernet.generate_key().decode()
    one, two = _store(database_url, key), _store(database_url, key)

    async def signed_in() -> str:
        loaded = one.begin()
        session = one.new()
        session.tokens = {"access_token": "secret-access-token", "refresh_token": "secret-refresh"}
        session.claims = {"sub": "rita", "roles": ["requester"]}
        await one.end(loaded)
        return session.id

    session_id = await asyncio.create_task(signed_in())

    async def on_two() -> None:
        loaded = two.begin()
        found = await two.load(session_id)
        assert found is not None
        assert found.user_id == "rita"
        assert found.tokens["access_token"] == "secret-access-token"
        found.locale = "de"
        await two.end(loaded)

    await asyncio.create_task(on_two())

    # the first instance restarts (a new engine, nothing in memory) and sees what the second changed
    await one.database.close()  # type: ignore[union-attr]
    restarted = _store(database_url, key)

    async def after_restart() -> None:
        loaded = restarted.begin()
        found = await restarted.load(session_id)
        assert found is not None
        assert found.locale == "de"
        assert found.roles == frozenset({"requester"})
        await restarted.end(loaded)

    await asyncio.create_task(after_restart())

    # what is stored: the id's hash, never the id, and no token in clear
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        rows = await connection.fetch("SELECT key, data FROM console_session")
    finally:
        await connection.close()
    assert [r["key"] for r in rows] == [key_of(session_id)]
    assert session_id not in rows[0]["key"]
    assert b"secret-access-token" not in bytes(rows[0]["data"])

    # a sign-out on the second instance ends the session on the first at once
    async def sign_out() -> None:
        loaded = two.begin()
        assert await two.load(session_id) is not None
        two.drop(session_id)
        await two.end(loaded)

    await asyncio.create_task(sign_out())

    async def gone() -> None:
        restarted.begin()
        assert await restarted.load(session_id) is None

    await asyncio.create_task(gone())
    for store in (two, restarted):
        await store.database.close()  # type: ignore[union-attr]


async def test_an_idle_session_expires_and_another_key_cannot_read_it(database_url: str) -> None:
    key = Fernet.generate_key().decode()
    store = _store(database_url, key, idle=60)

    async def idle_session() -> str:
        loaded = store.begin()
        session = store.new()
        session.tokens = {"access_token": "t"}
        session.seen = time.time() - 30
        await store.end(loaded)
        return session.id

    session_id = await asyncio.create_task(idle_session())
    stranger = _store(database_url, Fernet.generate_key().decode())

    async def read_with_another_key() -> None:
        stranger.begin()
        assert await stranger.load(session_id) is None

    await asyncio.create_task(read_with_another_key())

    async def still_there() -> None:
        loaded = store.begin()
        found = await store.load(session_id)
        assert found is not None
        found.seen = time.time() - 120  # as if idle for two minutes since
        await store.end(loaded)

    await asyncio.create_task(still_there())

    async def expired() -> None:
        loaded = store.begin()
        assert await store.load(session_id) is None
        await store.end(loaded)

    await asyncio.create_task(expired())
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        assert await connection.fetchval("SELECT count(*) FROM console_session") == 0  # deleted on sight
    finally:
        await connection.close()
    for s in (store, stranger):
        await s.database.close()  # type: ignore[union-attr]


async def test_a_message_left_for_the_next_page_is_taken_once_on_any_instance(database_url: str) -> None:
    key = Fernet.generate_key().decode()
    one, two = _store(database_url, key), _store(database_url, key)

    async def posted() -> str:  # the POST on one instance leaves the outcome for the page it redirects to
        loaded = one.begin()
        session = one.new()
        session.leave("vendor-credentials:v-1", {"rotated": {"retrieval_sent_to": "sales@vendor.example"}})
        await one.end(loaded)
        return session.id

    session_id = await asyncio.create_task(posted())

    async def page(store: SessionStore) -> object:  # the redirected GET, and a reload, on the other instance
        loaded = store.begin()
        found = await store.load(session_id)
        assert found is not None
        taken = found.take("vendor-credentials:v-1")
        await store.end(loaded)
        return taken

    assert await asyncio.create_task(page(two)) == {"rotated": {"retrieval_sent_to": "sales@vendor.example"}}
    assert await asyncio.create_task(page(two)) is None
    assert await asyncio.create_task(page(one)) is None
    for store in (one, two):
        await store.database.close()  # type: ignore[union-attr]


def test_a_session_keeps_only_the_newest_messages_left_for_pages_not_visited() -> None:
    session = SessionStore(idle_seconds=60, max_seconds=600, max_sessions=1).new()
    for n in range(FLASH_LIMIT + 3):
        session.leave(f"m{n}", n)
    session.leave("m5", "again")  # left again: the newest
    assert len(session.flash) == FLASH_LIMIT
    assert session.take("m0") is None
    assert list(session.flash)[-1] == "m5"
    assert session.take("m5") == "again"


async def test_a_key_rotation_signs_nobody_out_and_moves_the_session_to_the_new_key(database_url: str) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = _store(database_url, old)

    async def signed_in() -> str:
        loaded = before.begin()
        session = before.new()
        session.tokens = {"access_token": "token-under-the-old-key"}
        session.claims = {"sub": "rita"}
        await before.end(loaded)
        return session.id

    session_id = await asyncio.create_task(signed_in())
    new_only = _store(database_url, new)

    async def unreadable_without_the_old_key() -> None:
        new_only.begin()
        assert await new_only.load(session_id) is None

    await asyncio.create_task(unreadable_without_the_old_key())
    # CONSOLE_SESSION_ENCRYPTION_KEY=new, CONSOLE_SESSION_ENCRYPTION_PREVIOUS_KEYS=old
    rotated = SessionStore(
        idle_seconds=1800,
        max_seconds=36000,
        max_sessions=10,
        database=SessionDatabase(database_url, new, [old]),
        seen_resolution=0,
    )

    async def still_signed_in() -> None:
        loaded = rotated.begin()
        found = await rotated.load(session_id)
        assert found is not None
        assert found.tokens["access_token"] == "token-under-the-old-key"
        found.locale = "de"  # any change writes the session back, under the new key
        await rotated.end(loaded)

    await asyncio.create_task(still_signed_in())
    after = _store(database_url, new)

    async def readable_with_the_new_key_alone() -> None:
        after.begin()
        found = await after.load(session_id)
        assert found is not None
        assert found.locale == "de"
        assert found.user_id == "rita"

    await asyncio.create_task(readable_with_the_new_key_alone())
    for store in (before, new_only, rotated, after):
        await store.database.close()  # type: ignore[union-attr]


async def test_readiness_knows_the_schema_revision_of_the_session_table(database_url: str) -> None:
    database = SessionDatabase(database_url, Fernet.generate_key().decode())
    assert await database.schema_problem() is None  # migrated to this release's head
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        shipped = await connection.fetchval("SELECT version_num FROM alembic_version")
        await connection.execute("UPDATE alembic_version SET version_num = 'an_older_release'")
        older = await database.schema_problem()
        await connection.execute("DROP TABLE alembic_version")
        missing = await database.schema_problem()
    finally:
        await connection.close()
        await database.close()
    assert older == f"schema revision ['an_older_release'], this release expects ['{shipped}']: run the migration"
    assert missing is not None
    assert missing.startswith("no schema revision (ProgrammingError)")
