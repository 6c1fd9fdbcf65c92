"""The fold job's writes of only what changed, on the real database: after every pass the stored rows are
those a whole replacement from all the facts stores, also when another replica (its own cache) or the
one-by-one fold (no cache) folded the request in between; and a pass touches only the changed tables."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from insights_testkit import BOB, MIGRATIONS, Order, full_order
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.testing import private_database
from backoffice_insights.domain.fold import fold
from backoffice_insights.models import messaging
from backoffice_insights.repository.store import VIEW_TABLES, FactStore, FoldQueue, ViewStore
from backoffice_insights.service.ingest import FoldCache, fold_pending
from backoffice_insights.service.uow import InsightsUnitOfWork

BANDS = [Decimal(1000), Decimal(10000), Decimal(100000)]


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with private_database(MIGRATIONS) as url:
        engine = make_engine(url, pool_size=2)
        try:
            yield make_session_factory(engine)
        finally:
            await engine.dispose()


async def rows(session: AsyncSession, request_id: str) -> dict[str, list[str]]:
    found = {}
    for table in VIEW_TABLES:
        sql = f"SELECT t::text AS j FROM {table} t WHERE request_id = :rid ORDER BY t::text"  # noqa: S608
        found[table] = [r.j for r in await session.execute(text(sql), {"rid": request_id})]
    return found


async def replaced_whole(sessions: async_sessionmaker[AsyncSession], request_id: str) -> dict[str, list[str]]:
    """The rows a whole replacement from all the request's facts stores (rolled back after reading)."""
    async with sessions() as s:
        facts = (await FoldQueue(s).facts_of([request_id]))[request_id]
        view = fold(facts, bands=BANDS)
        assert view is not None
        await ViewStore(s).replace([request_id], [view])
        found = await rows(s, request_id)
        await s.rollback()
    return found


async def writers(sessions: async_sessionmaker[AsyncSession], request_id: str) -> dict[str, set[str]]:
    """The transactions that wrote each table's rows of the request (``xmin``): a row not rewritten keeps its."""
    found = {}
    async with sessions() as s:
        for table in VIEW_TABLES:
            sql = f"SELECT xmin::text FROM {table} WHERE request_id = :rid"  # noqa: S608
            found[table] = {r[0] for r in await s.execute(text(sql), {"rid": request_id})}
    return found


async def test_every_pass_stores_what_a_whole_replacement_stores(sessions: async_sessionmaker[AsyncSession]) -> None:
    order = full_order(Order(), approver=BOB)
    facts = order.facts()
    mine, other = FoldCache(), FoldCache()
    # this replica's job, another replica's (its own cache), the one-by-one fold (no cache), then this job again
    passes: list[Any] = [mine, mine, other, mine, None, *[mine] * (len(facts) - 5)]
    for f, cache in zip(facts, passes, strict=True):
        async with sessions() as s:
            assert await FactStore(s).record(f)
            await s.commit()
        async with InsightsUnitOfWork(sessions, tables=messaging, service="insights") as uow:
            assert (await fold_pending(uow=uow, bands=BANDS, limit=10, cache=cache)).claimed == 1
        async with sessions() as s:
            stored = await rows(s, order.request_id)
        assert stored == await replaced_whole(sessions, order.request_id), f"after {f.type}"
    assert all(stored[t] for t in ("spend_line", "approval_task", "contract_signing"))


async def test_a_pass_writes_only_the_tables_whose_rows_changed(sessions: async_sessionmaker[AsyncSession]) -> None:
    order = full_order(Order(), approver=BOB)
    *first, last = order.facts()  # the last fact is the closure: the summary and the stages change, nothing else
    assert last.type == "purchase_request.closed"
    cache = FoldCache()
    for batch in (first, [last]):
        async with sessions() as s:
            for f in batch:
                assert await FactStore(s).record(f)
            await s.commit()
        before = await writers(sessions, order.request_id)
        async with InsightsUnitOfWork(sessions, tables=messaging, service="insights") as uow:
            assert (await fold_pending(uow=uow, bands=BANDS, limit=10, cache=cache)).claimed == 1
        after = await writers(sessions, order.request_id)
    rewritten = {t for t in VIEW_TABLES if after[t] != before[t]}
    assert rewritten == {"request_view", "stage_duration"}
    assert all(after[t] for t in ("approval_task", "vendor_answer", "contract_signing", "spend_line"))
    async with sessions() as s:
        assert await rows(s, order.request_id) == await replaced_whole(sessions, order.request_id)


async def test_a_pass_writes_in_one_statement_deleting_before_inserting_rows_of_the_same_keys() -> None:
    """The deletes, the inserts (the summary's new row has the old row's key) and the queue rows removed go in
    ONE statement (``ViewStore.write``), and the rows are still those of a whole replacement."""
    order = full_order(Order(), approver=BOB)
    facts = order.facts()
    async with private_database(MIGRATIONS) as url:
        engine = make_engine(url, pool_size=1)
        queries: list[str] = []

        def log_queries(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.driver_connection.add_query_logger(lambda q: queries.append(q.query))

        event.listen(engine.sync_engine, "connect", log_queries)
        sessions = make_session_factory(engine)
        cache = FoldCache()
        try:
            writes = []
            for f in facts:
                async with sessions() as s:
                    assert await FactStore(s).record(f)
                    await s.commit()
                queries.clear()
                async with InsightsUnitOfWork(sessions, tables=messaging, service="insights") as uow:
                    assert (await fold_pending(uow=uow, bands=BANDS, limit=10, cache=cache)).claimed == 1
                writes.append([q for q in queries if "DELETE FROM" in q or "INSERT INTO" in q])
                async with sessions() as s:
                    assert await rows(s, order.request_id) == await replaced_whole(sessions, order.request_id)
        finally:
            await engine.dispose()
    assert all(len(w) == 1 for w in writes), writes
    # every pass rewrites the summary (the first replaces everything: nothing cached), deleting its row first
    assert all("DELETE FROM request_view" in w[0] and "INSERT INTO request_view" in w[0] for w in writes), writes
