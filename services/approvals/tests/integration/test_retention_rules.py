"""The approvals service's retention rule on its migrated schema: timers that fired or were closed go later."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

import backoffice_approvals
from backoffice_approvals.jobs import retention
from backoffice_approvals.settings import Settings
from backoffice_common.migrations import upgrade
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


async def test_the_migration_closes_the_timers_of_tasks_decided_before_it() -> None:
    async with private_database() as url:
        await asyncio.to_thread(upgrade, MIGRATIONS, url, "0003_budget_checks")
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            await conn.execute(
                "INSERT INTO approval_chain (id, request_id, revision, requester, snapshot, steps, notes,"
                " policy_version, reminder_share, status) VALUES ('c', 'r', 1, '{}', '{}', '[]', '[]', 1, 0.5, 'open')"
            )
            for task, status in (("decided", "approved"), ("open", "open")):
                await conn.execute(
                    "INSERT INTO approval_task (id, chain_id, request_id, step_index, stage, approver, assignee_id,"
                    " assignee, status, due_at, remind_at, created_at)"
                    " VALUES ($1, 'c', 'r', 0, 0, '{}', 'a', '{}', $2, now(), now(), now())",
                    task,
                    status,
                )
                await conn.execute(
                    "INSERT INTO approval_timer (kind, ref_id, fire_at) VALUES ('reminder', $1, now()),"
                    " ('escalation', $1, now())",
                    task,
                )

            await asyncio.to_thread(upgrade, MIGRATIONS, url)

            rows = await conn.fetch("SELECT ref_id, fired_at IS NOT NULL AS closed FROM approval_timer")
            assert {(r["ref_id"], r["closed"]) for r in rows} == {("decided", True), ("open", False)}
        finally:
            await conn.close()
