"""The unit of work's transaction is asyncpg's own (``db.DriverTransaction``), and its SQLAlchemy session
runs on the same connection and transaction. Real PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest
from common_testkit import Harness, event
from sqlalchemy import insert, select, text

from backoffice_common.db import driver_connection, fetch_beginning, fetchval_beginning


async def _effects(h: Harness) -> list[str]:
    async with h.engine.connect() as conn:
        return list((await conn.execute(text("SELECT event_id FROM effect ORDER BY id"))).scalars())


async def _inbox(h: Harness) -> list[str]:
    async with h.engine.connect() as conn:
        return list((await conn.execute(text("SELECT event_id FROM processed_event ORDER BY 1"))).scalars())


async def _open_transactions(h: Harness) -> int:
    async with h.engine.connect() as conn:
        sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in%'"
        return int((await conn.execute(text(sql))).scalar_one())


async def test_a_unit_of_work_that_runs_nothing_takes_no_connection(harness: Harness) -> None:
    pool = harness.engine.sync_engine.pool
    before = pool.checkedout()  # type: ignore[attr-defined]
    async with harness.uow() as uow:
        _ = uow.session  # a service's repositories take it at once; that checks out nothing
        assert pool.checkedout() == before  # type: ignore[attr-defined]
        await uow.commit()  # nothing to write: no connection, no round trip
        assert pool.checkedout() == before  # type: ignore[attr-defined]
    assert pool.checkedout() == before  # type: ignore[attr-defined]


async def test_raw_statements_and_the_session_share_one_transaction_that_commits_or_rolls_back_whole(
    harness: Harness,
) -> None:
    effect = harness.effect
    kept: list[str] = []
    for first in ("raw", "session"):  # whichever runs first begins the transaction
        seen = event(1, f"{first}-kept")
        kept.append(seen.id)
        async with harness.uow() as uow:
            if first == "session":
                await uow.session.execute(insert(effect).values(event_id=f"{first}-orm", key=first, seq=1))
            assert await uow.claim(consumer="c", event=seen)
            conn = await driver_connection(uow.session)
            assert conn.is_in_transaction()
            await conn.execute("INSERT INTO effect (event_id, key, seq) VALUES ($1, $2, 2)", f"{first}-raw", first)
            if first == "raw":
                await uow.session.execute(insert(effect).values(event_id=f"{first}-orm", key=first, seq=1))
            # the session's statements see the raw ones and the other way round: one transaction
            mine = select(effect.c.event_id).where(effect.c.key == first).order_by(effect.c.seq)
            orm_seen = (await uow.session.execute(mine)).scalars().all()
            assert list(orm_seen) == [f"{first}-orm", f"{first}-raw"]
            session_pid = (await uow.session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            assert session_pid == await conn.fetchval("SELECT pg_backend_pid()")
            assert await fetchval_beginning(uow.session, "SELECT count(*) FROM effect WHERE key = $1", first) == 2
            await uow.commit()
            assert not conn.is_in_transaction()

        dropped = event(2, f"{first}-dropped")
        async with harness.uow() as uow:  # left without commit: all of it rolled back
            assert await uow.claim(consumer="c", event=dropped)
            await (await driver_connection(uow.session)).execute(
                "INSERT INTO effect (event_id, key, seq) VALUES ($1, 'd', 1)", f"{first}-dropped-raw"
            )
            await uow.session.execute(insert(effect).values(event_id=f"{first}-dropped-orm", key="d", seq=2))
    assert await _effects(harness) == ["raw-raw", "raw-orm", "session-orm", "session-raw"]
    assert await _inbox(harness) == sorted(kept)
    assert await _open_transactions(harness) == 0


async def test_rollback_mid_way_ends_the_transaction_and_the_next_statement_begins_another(harness: Harness) -> None:
    async with harness.uow() as uow:
        conn = await driver_connection(uow.session)
        await conn.execute("INSERT INTO effect (event_id, key, seq) VALUES ('gone', 'k', 1)")
        await uow.rollback()
        assert not conn.is_in_transaction()
        rows = await fetch_beginning(uow.session, "SELECT count(*) AS n FROM effect")
        assert rows[0]["n"] == 0
        assert conn.is_in_transaction()
        await uow.session.execute(insert(harness.effect).values(event_id="kept", key="k", seq=2))
        await uow.commit()
    assert await _effects(harness) == ["kept"]


async def test_the_connection_goes_back_to_the_pool_with_no_transaction_open_even_after_an_error(
    harness: Harness,
) -> None:
    pool = harness.engine.sync_engine.pool
    before = pool.checkedout()  # type: ignore[attr-defined]

    async def failing() -> None:
        async with harness.uow() as uow:
            conn = await driver_connection(uow.session)
            await conn.execute("INSERT INTO effect (event_id, key, seq) VALUES ('failed', 'k', 1)")
            await conn.execute("SELECT 1/0")

    with pytest.raises(asyncpg.DivisionByZeroError):
        await failing()
    assert pool.checkedout() == before  # type: ignore[attr-defined]
    assert await _open_transactions(harness) == 0
    assert await _effects(harness) == []
    # the adapter is out of its autocommit mode again: a plain SQLAlchemy session begins and rolls back
    async with harness.engine.connect() as plain:
        await plain.execute(text("INSERT INTO effect (event_id, key, seq) VALUES ('plain', 'k', 1)"))
        raw = await plain.get_raw_connection()
        assert raw.driver_connection is not None
        assert raw.driver_connection.is_in_transaction()
        await plain.rollback()
    assert await _effects(harness) == []


async def test_a_read_only_unit_of_work_rolls_back_and_leaves_nothing_open(harness: Harness) -> None:
    async with harness.uow() as uow:
        conn = await driver_connection(uow.session)
        assert await conn.fetchval("SELECT count(*) FROM effect") == 0
        assert conn.is_in_transaction()
    assert not conn.is_in_transaction()
    assert await _open_transactions(harness) == 0


async def test_the_sessions_own_commit_and_rollback_end_the_driver_transaction(harness: Harness) -> None:
    """Code that commits or rolls back through ``uow.session`` (as before, when the session owned the
    transaction) commits or rolls back the raw statements with it."""
    async with harness.uow() as uow:
        conn = await driver_connection(uow.session)
        await conn.execute("INSERT INTO effect (event_id, key, seq) VALUES ('raw-committed', 'k', 1)")
        await uow.session.commit()
        assert not conn.is_in_transaction()
        await (await driver_connection(uow.session)).execute(
            "INSERT INTO effect (event_id, key, seq) VALUES ('raw-rolled-back', 'k', 2)"
        )
        await uow.session.rollback()
        assert not conn.is_in_transaction()
    assert await _effects(harness) == ["raw-committed"]
