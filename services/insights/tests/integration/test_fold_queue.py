"""The fold queue on the real database: a fact stored during a fold is not lost, and two folds never
fold the same request at once (advisory lock)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from insights_testkit import MIGRATIONS, Order, full_order
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.testing import private_database
from backoffice_insights.repository.store import FactStore, FoldQueue


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with private_database(MIGRATIONS) as url:
        engine = make_engine(url, pool_size=4)
        try:
            yield make_session_factory(engine)
        finally:
            await engine.dispose()


async def test_a_fact_recorded_while_its_request_is_folded_keeps_it_queued(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second, *_ = full_order(Order()).facts()
    async with sessions() as s:
        assert await FactStore(s).record(first)
        assert not await FactStore(s).record(first)  # a known event queues nothing more
        await s.commit()

    async with sessions() as folding, sessions() as consumer, sessions() as other_replica:
        claimed = await FoldQueue(folding).claim(10)
        assert [p.version for p in claimed] == [1]
        assert await FoldQueue(other_replica).claim(10) == []  # held by the advisory lock
        await other_replica.rollback()
        assert await FactStore(consumer).record(second)  # does not wait for the fold
        await consumer.commit()
        await FoldQueue(folding).done(claimed)
        await folding.commit()

    async with sessions() as s:
        again = await FoldQueue(s).claim(10)
        assert [(p.request_id, p.version) for p in again] == [(first.request_id, 2)]
        assert len((await FoldQueue(s).facts_of([first.request_id]))[first.request_id]) == 2
        await FoldQueue(s).done(again)
        await s.commit()
    async with sessions() as s:
        assert await FoldQueue(s).size() == (0, 0)
