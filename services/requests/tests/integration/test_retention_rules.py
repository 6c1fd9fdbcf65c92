"""The requests service's retention rule on its migrated schema: Idempotency-Keys are forgotten after their window."""

from __future__ import annotations

import asyncpg
from requests_testkit import MIGRATIONS

from backoffice_common.retention import prune
from backoffice_common.testing import private_database
from backoffice_requests.jobs import retention
from backoffice_requests.settings import Settings


async def test_idempotency_keys_past_their_window_are_forgotten_through_their_index() -> None:
    [rule] = retention(Settings(idempotency_retention_hours=72))
    async with private_database(MIGRATIONS) as url:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            await conn.execute(
                "INSERT INTO idempotency_record (user_id, key, fingerprint, created_at) VALUES"
                " ('u', 'old', 'f', now() - interval '73 hours'), ('u', 'recent', 'f', now() - interval '71 hours')"
            )

            assert await prune(conn, rule) == 1

            assert [r["key"] for r in await conn.fetch("SELECT key FROM idempotency_record")] == ["recent"]
            await conn.execute("SET enable_seqscan = off")
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {rule.select_sql()}", 1.0, 10))
            assert "ix_idempotency_record_created_at" in plan, plan
        finally:
            await conn.close()
