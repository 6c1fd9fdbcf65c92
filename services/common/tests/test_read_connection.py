"""``db.read_connection`` and ``deps.ReadConnection``: a pooled connection for one read, without a
transaction, given back to the engine's pool (real PostgreSQL)."""

from __future__ import annotations

import asyncpg
import pytest
from fastapi import FastAPI

from backoffice_common.db import make_engine, read_connection
from backoffice_common.deps import ReadConnection
from backoffice_common.testing import app_client, private_database


async def test_a_read_connection_has_no_transaction_and_goes_back_to_the_pool() -> None:
    async with private_database() as url:
        engine = make_engine(url, pool_size=1)
        try:
            async with read_connection(engine) as conn:
                assert not conn.is_in_transaction()
                # each statement is its own transaction: a new transaction id per statement
                first = await conn.fetchval("SELECT txid_current()")
                second = await conn.fetchval("SELECT txid_current()")
                assert second != first
                assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]
            assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
            async with read_connection(engine) as again:
                assert again is conn  # the same pooled connection, not a new one
                # the jsonb codecs of the engine's connections: decoded as the unit of work's statements are
                assert await again.fetchval("""SELECT '{"a": [1, "b"]}'::jsonb""") == {"a": [1, "b"]}
        finally:
            await engine.dispose()


async def test_a_failed_statement_leaves_the_connection_usable_and_nothing_open() -> None:
    async with private_database() as url:
        engine = make_engine(url, pool_size=1)
        try:
            with pytest.raises(asyncpg.DivisionByZeroError):
                async with read_connection(engine) as conn:
                    await conn.fetchval("SELECT 1 / 0")
            assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
            async with read_connection(engine) as conn:
                assert not conn.is_in_transaction()
                assert await conn.fetchval("SELECT 41 + 1") == 42
        finally:
            await engine.dispose()


async def test_connections_beyond_the_pool_size_are_closed_when_given_back() -> None:
    """The pool keeps ``pool_size`` connections; an overflow one is closed at its return (an await, which
    must run in SQLAlchemy's greenlet)."""
    async with private_database() as url:
        engine = make_engine(url, pool_size=1)
        try:
            async with read_connection(engine) as first, read_connection(engine) as second:
                assert first is not second
                assert await first.fetchval("SELECT 1") == await second.fetchval("SELECT 1") == 1
                assert engine.pool.checkedout() == 2  # type: ignore[attr-defined]
            assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
            assert engine.pool.checkedin() == 1  # type: ignore[attr-defined]
            assert second.is_closed() != first.is_closed()  # one kept, the overflow one closed
        finally:
            await engine.dispose()


async def test_the_dependency_reads_through_the_apps_engine() -> None:
    async with private_database() as url:
        engine = make_engine(url, pool_size=1)
        app = FastAPI()
        app.state.engine = engine

        @app.get("/answer")
        async def answer(conn: ReadConnection) -> dict[str, object]:
            return {"in_transaction": conn.is_in_transaction(), "value": await conn.fetchval("SELECT 42")}

        try:
            async with app_client(app) as client:
                response = await client.get("/answer")
            assert response.status_code == 200
            assert response.json() == {"in_transaction": False, "value": 42}
            assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        finally:
            await engine.dispose()
