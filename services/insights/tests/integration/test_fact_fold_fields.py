"""Stored facts hold only what the fold reads, old ones trimmed by migration 0005, and refold to the same views."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import asyncpg
from insights_scenario import orders
from insights_testkit import MIGRATIONS

from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.migrations import upgrade
from backoffice_common.testing import private_database
from backoffice_insights.domain.fold import fold, fold_fields
from backoffice_insights.repository.store import FactStore, FoldQueue

BANDS = [Decimal(1000), Decimal(10000), Decimal(100000)]


async def test_facts_stored_before_and_after_the_migration_hold_only_the_folds_fields_and_refold_the_same() -> None:
    all_orders = orders()
    before, after = all_orders[::2], all_orders[1::2]
    async with private_database() as url:
        await asyncio.to_thread(upgrade, MIGRATIONS, url, "0004_checklist_leads")
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            for order in before:  # stored whole, as the consumer did before
                await conn.executemany(
                    "INSERT INTO fact (event_id, request_id, type, occurred_at, data) VALUES ($1, $2, $3, $4, $5)",
                    [(f.event_id, f.request_id, f.type, f.time, json.dumps(f.data)) for f in order.facts()],
                )
            whole_bytes = await conn.fetchval("SELECT sum(pg_column_size(data)) FROM fact")
            await asyncio.to_thread(upgrade, MIGRATIONS, url)
            trimmed_bytes = await conn.fetchval("SELECT sum(pg_column_size(data)) FROM fact")
        finally:
            await conn.close()
        assert trimmed_bytes < whole_bytes / 2

        engine = make_engine(url, pool_size=2)
        try:
            sessions = make_session_factory(engine)
            async with sessions() as s:
                for order in after:  # stored by the consumer's store now
                    for f in order.facts():
                        assert await FactStore(s).record(f)
                await s.commit()
            async with sessions() as s:
                stored = await FoldQueue(s).facts_of([o.request_id for o in all_orders])
        finally:
            await engine.dispose()

    for order in all_orders:
        whole = {f.event_id: f for f in order.facts()}
        facts = stored[order.request_id]
        assert sorted(f.event_id for f in facts) == sorted(whole)
        for f in facts:
            assert f.data == fold_fields(f.type, whole[f.event_id].data)
            assert fold_fields(f.type, f.data) == f.data  # nothing beyond the fold's fields
        refolded = fold(facts, bands=BANDS)
        assert refolded is not None
        assert refolded == fold(whole.values(), bands=BANDS)
