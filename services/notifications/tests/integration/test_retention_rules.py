"""The notifications service's retention rules on its migrated schema: mail bodies dropped, webhook ids forgotten."""

from __future__ import annotations

import asyncpg
from notifications_testkit import MIGRATIONS

from backoffice_common.retention import prune
from backoffice_common.testing import private_database
from backoffice_notifications.jobs import retention
from backoffice_notifications.settings import Settings

RULES = {
    rule.name: rule for rule in retention(Settings(delivery_body_retention_days=30, webhook_tolerance_seconds=300))
}


async def _delivery(conn: asyncpg.Connection, id_: str, status: str, days_ago: int) -> None:
    await conn.execute(
        "INSERT INTO delivery (id, dedup_key, event_id, channel, recipient, template, language, status,"
        " subject, body_text, body_html, payload, created_at)"
        " VALUES ($1::text, substring(sha256(convert_to($1::text, 'UTF8')) FROM 1 FOR 16), 'e', 'email',"
        " 'v@example.com', 't', 'en', $2, 'subject', 'text', '<p>html</p>',"
        " '{\"a\": 1}', now() - make_interval(days => $3))",
        id_,
        status,
        days_ago,
    )


async def test_bodies_of_old_sent_deliveries_are_dropped_and_the_rest_is_kept() -> None:
    async with private_database(MIGRATIONS) as url:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            await _delivery(conn, "old-sent", "sent", 31)
            await _delivery(conn, "old-withdrawn", "withdrawn", 31)
            await _delivery(conn, "old-failed", "failed", 31)
            await _delivery(conn, "recent-sent", "sent", 29)

            assert await prune(conn, RULES["delivery_bodies"]) == 2

            rows = {
                r["id"]: (r["subject"], r["body_text"], r["body_html"], r["payload"], r["status"])
                for r in await conn.fetch("SELECT * FROM delivery")
            }
            assert rows["old-sent"] == ("subject", None, None, None, "sent"), "the row itself stays"
            assert rows["old-withdrawn"][1:4] == (None, None, None)
            assert rows["old-failed"][1] == "text", "a failed delivery may be retried: it keeps its body"
            assert rows["recent-sent"][1] == "text"
            await conn.execute("SET enable_seqscan = off")
            plan = "\n".join(
                r[0] for r in await conn.fetch(f"EXPLAIN {RULES['delivery_bodies'].select_sql()}", 1.0, 10)
            )
            assert "ix_delivery_body_kept" in plan, plan
        finally:
            await conn.close()


async def test_webhook_ids_are_forgotten_after_three_tolerances_through_their_index() -> None:
    async with private_database(MIGRATIONS) as url:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            await conn.execute(
                "INSERT INTO received_webhook (vendor_id, webhook_id, received_at) VALUES"
                " ('v', 'old', now() - interval '16 minutes'), ('v', 'recent', now() - interval '14 minutes')"
            )

            assert await prune(conn, RULES["webhook_ids"]) == 1

            assert [r["webhook_id"] for r in await conn.fetch("SELECT webhook_id FROM received_webhook")] == ["recent"]
            await conn.execute("SET enable_seqscan = off")
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {RULES['webhook_ids'].select_sql()}", 1.0, 10))
            assert "ix_received_webhook_received_at" in plan, plan
        finally:
            await conn.close()
