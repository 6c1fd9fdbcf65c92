"""The Idempotency-Key claim as a command's first statement, on the real PostgreSQL: it begins the unit of
work's transaction and commits or rolls back with the rest of the command (whichever way it begins it:
``bench/idempotency_claim_cpu.py`` measured the two)."""

from __future__ import annotations

import uuid

from backoffice_common.db import make_engine, make_session_factory, new_metadata
from backoffice_common.idempotency import IdempotencyStore, idempotency_table
from backoffice_common.testing import private_database


async def test_the_claim_begins_the_transaction_and_is_undone_or_kept_with_it() -> None:
    async with private_database() as url:
        engine = make_engine(url, pool_size=2)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(idempotency_table(new_metadata()).create)
            sessions = make_session_factory(engine)
            key = str(uuid.uuid4())
            async with sessions() as session:
                store = IdempotencyStore(session)
                assert await store.claim(user_id="u", key=key, fingerprint="f1")
                assert session.in_transaction()  # the claim began it: the rollback below undoes it
                assert not await store.claim(user_id="u", key=key, fingerprint="f1")  # asyncpg, same transaction
                await session.rollback()
            async with sessions() as session:
                store = IdempotencyStore(session)
                assert await store.claim(user_id="u", key=key, fingerprint="f2")  # the first was rolled back
                await store.store(user_id="u", key=key, status_code=201, body={"id": 1}, headers={"Location": "/x"})
                await session.commit()
            async with sessions() as session:
                store = IdempotencyStore(session)
                assert not await store.claim(user_id="u", key=key, fingerprint="f3")
                stored = await store.stored(user_id="u", key=key)
                assert (stored.fingerprint, stored.status_code, stored.body, stored.headers) == (
                    "f2",
                    201,
                    {"id": 1},
                    {"Location": "/x"},
                )
        finally:
            await engine.dispose()
