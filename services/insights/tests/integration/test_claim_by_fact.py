"""A request event is claimed by its fact (``InsightsUnitOfWork.claim``): the fact and the fold queue's mark in
one statement, no inbox row; a known event is a duplicate, as the inbox said; vendor and checklist events
keep the inbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from insights_testkit import MIGRATIONS, Order, full_order, vendor_updated
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice_common.db import DRIVER_TRANSACTION, DriverTransaction, make_engine, make_session_factory
from backoffice_common.testing import private_database
from backoffice_insights.consumers import handlers
from backoffice_insights.models import messaging
from backoffice_insights.repository.store import FoldQueue
from backoffice_insights.service.uow import InsightsUnitOfWork

CONSUMER = "insights-test"


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with private_database(MIGRATIONS) as url:
        engine = make_engine(url, pool_size=4)
        try:
            yield make_session_factory(engine)
        finally:
            await engine.dispose()


def uow_of(sessions: async_sessionmaker[AsyncSession]) -> InsightsUnitOfWork:
    return InsightsUnitOfWork(sessions, tables=messaging, service="insights")


async def counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int, list[tuple[str, int]]]:
    async with sessions() as s:
        facts = (await s.execute(text("SELECT count(*) FROM fact"))).scalar_one()
        inbox = (await s.execute(text(f"SELECT count(*) FROM {messaging.inbox.name}"))).scalar_one()  # noqa: S608
        queued = [(r[0], r[1]) for r in await s.execute(text("SELECT request_id, version FROM dirty_request"))]
        return facts, inbox, sorted(queued)


async def test_a_request_event_is_claimed_by_its_fact_once_and_the_handler_adds_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    order = full_order(Order())
    (_, first), (_, second) = order.events[:2]
    table = handlers()
    async with uow_of(sessions) as uow:
        assert await uow.claim(consumer=CONSUMER, event=first)
        assert uow.recorded(first.id)
        assert not uow.recorded(second.id)
        assert await table[first.type](first, uow) is None
        await uow.commit()
    assert await counts(sessions) == (1, 0, [(order.request_id, 1)])

    async with uow_of(sessions) as uow:  # redelivered: a duplicate, as the inbox's row said
        assert not await uow.claim(consumer=CONSUMER, event=first)
        assert not uow.recorded(first.id)
        await uow.commit()
    async with uow_of(sessions) as uow:  # a handler called without the claim still records, once
        assert await table[second.type](second, uow) is None
        assert await table[second.type](second, uow) == "duplicate"
        await uow.commit()
    assert await counts(sessions) == (2, 0, [(order.request_id, 2)])


async def test_a_batch_claims_new_facts_in_one_statement_and_vendor_events_in_the_inbox(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    one, other = full_order(Order()), full_order(Order())
    a, b, c = (e for _, e in one.events[:3])
    d = other.events[0][1]
    _, vendor = vendor_updated("v-1", "Vendor One")
    async with uow_of(sessions) as uow:
        assert await uow.claim(consumer=CONSUMER, event=a)
        await uow.commit()
    async with uow_of(sessions) as uow:
        new = await uow.claim_many(consumer=CONSUMER, events=[a, b, c, b, d, vendor])
        assert new == {b.id, c.id, d.id, vendor.id}  # a was known; b twice is one fact
        assert [uow.recorded(e.id) for e in (a, b, c, d, vendor)] == [False, True, True, True, False]
        await uow.commit()
    facts, inbox, queued = await counts(sessions)
    assert (facts, inbox) == (4, 1)  # the vendor event alone has an inbox row
    assert queued == sorted([(one.request_id, 2), (other.request_id, 1)])  # one mark per request and batch
    async with uow_of(sessions) as uow:
        assert await uow.claim_many(consumer=CONSUMER, events=[a, b, c, d, vendor]) == set()
        await uow.commit()
    async with sessions() as s:
        claimed = await FoldQueue(s).claim(10)
        rows = await FoldQueue(s).facts_of([p.request_id for p in claimed])
        assert sorted(len(v) for v in rows.values()) == [1, 3]
        await s.rollback()


async def in_transaction(uow: InsightsUnitOfWork) -> bool:
    # The unit of work's connection as it is: asking through the session would begin its transaction.
    transaction: DriverTransaction = uow.session.info[DRIVER_TRANSACTION]
    driver = await transaction.connection()
    return bool(driver.is_in_transaction())


async def test_a_request_events_claim_is_committed_on_its_own_and_a_mixed_batch_in_its_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The fact is a request event's whole effect: its statement runs without BEGIN and COMMIT (no transaction
    is open after it, another session sees it before the unit of work ends, even if it then rolls back). A
    batch with a vendor event keeps everything in the batch's transaction: a rollback keeps nothing."""
    order = full_order(Order())
    (_, first), (_, second), (_, third) = order.events[:3]
    table = handlers()
    async with uow_of(sessions) as uow:
        assert await uow.claim(consumer=CONSUMER, event=first)
        assert not await in_transaction(uow)
        assert await table[first.type](first, uow) is None
        assert not await in_transaction(uow)  # the handler wrote nothing
        assert (await counts(sessions))[0] == 1  # seen by another session before this one ends
        await uow.rollback()
    async with uow_of(sessions) as uow:
        assert await uow.claim_many(consumer=CONSUMER, events=[first, second]) == {second.id}
        assert not await in_transaction(uow)
        await uow.rollback()
    assert await counts(sessions) == (2, 0, [(order.request_id, 2)])

    _, vendor = vendor_updated("v-1", "Vendor One")
    async with uow_of(sessions) as uow:
        assert await uow.claim_many(consumer=CONSUMER, events=[third, vendor]) == {third.id, vendor.id}
        assert await in_transaction(uow)
        await uow.rollback()
    assert await counts(sessions) == (2, 0, [(order.request_id, 2)])  # neither the fact nor the inbox row kept
