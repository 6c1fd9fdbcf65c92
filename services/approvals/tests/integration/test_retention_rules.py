"""The approvals service's retention rule on its migrated schema: timers that fired or were closed go later."""

from __future__ import annotations

from pathlib import Path

import asyncpg

import backoffice_approvals
from backoffice_approvals.jobs import retention
from backoffice_approvals.settings import Settings
from backoffice_common.retention import prune
from backoffice_common.testing import private_database

MIGRATIONS = Path(backoffice_approvals.__file__).parent / "migrations"


async def test_fired_timers_are_deleted_after_the_window_and_open_ones_never() -> None:
    [rule] = retention(Settings(fired_timer_retention_days=30))
    async with private_database(MIGRATIONS) as url:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            await conn.execute(
                "INSERT INTO approval_timer (kind, ref_id, fire_at, fired_at) VALUES"
                " ('reminder', 'fired-long-ago', now() - interval '40 days', now() - interval '31 days'),"
                " ('reminder', 'fired-lately', now() - interval '40 days', now() - interval '29 days'),"
                " ('escalation', 'still-open', now() - interval '40 days', NULL)"
            )

            assert await prune(conn, rule) == 1

            left = {r["ref_id"] for r in await conn.fetch("SELECT ref_id FROM approval_timer")}
            assert left == {"fired-lately", "still-open"}
            await conn.execute("SET enable_seqscan = off")
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {rule.select_sql()}", 1.0, 10))
            assert "ix_approval_timer_fired_at" in plan, plan
        finally:
            await conn.close()
