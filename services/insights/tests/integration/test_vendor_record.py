"""``vendor.updated`` kept by one statement (``FactStore.save_vendor_if_newer``): the newest by (event time, event
id) wins whatever the arrival order, exactly as ``VendorFact.newer_than`` decides, each answer included."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from insights_testkit import MIGRATIONS, T0
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.testing import private_database
from backoffice_insights.domain.facts import VendorFact
from backoffice_insights.models import messaging
from backoffice_insights.repository.store import FactStore
from backoffice_insights.service.ingest import record_vendor
from backoffice_insights.service.uow import InsightsUnitOfWork


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with private_database(MIGRATIONS) as url:
        engine = make_engine(url, pool_size=2)
        try:
            yield make_session_factory(engine)
        finally:
            await engine.dispose()


# Two at the same time whose ids differ only in case ("B" sorts before "a" byte for byte), one later, one earlier.
UPDATES = [
    VendorFact("v-1", "Same time, upper", "active", T0, "B-event"),
    VendorFact("v-1", "Same time, lower", "blocked", T0, "a-event"),
    VendorFact("v-1", "Later", "active", T0 + timedelta(seconds=1), "0-event"),
    VendorFact("v-1", "Earlier", "active", T0 - timedelta(microseconds=1), "z-event"),
]


async def test_the_newest_vendor_update_wins_in_any_order_as_newer_than_decides(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    for n, arrival in enumerate(itertools.permutations(UPDATES)):
        kept: VendorFact | None = None
        for update in arrival:
            v = VendorFact(f"v-{n}", update.legal_name, update.status, update.time, f"{update.event_id}-{n}")
            async with InsightsUnitOfWork(sessions, tables=messaging, service="insights") as uow:
                outcome = await record_vendor(uow=uow, vendor=v)
                await uow.commit()
            expected = "vendor recorded" if v.newer_than(kept) else "older than the vendor record kept"
            assert outcome == expected, (arrival, v)
            kept = v if v.newer_than(kept) else kept
        async with sessions() as s:
            stored = await FactStore(s).vendor(f"v-{n}")
        assert stored == kept
        assert stored is not None
        assert stored.legal_name == "Later"
