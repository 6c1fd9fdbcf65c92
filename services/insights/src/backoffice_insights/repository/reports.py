# ruff: noqa: S608 - fixed expressions only: see the docstring
"""The read side: every figure the API answers, aggregated by PostgreSQL.

Percentiles are ``percentile_cont`` (linear interpolation). Dimension and period names come from
closed lists (``GROUPS``, ``PERIODS``), never from the caller's text, so the SQL below only
interpolates fixed expressions; every value is a bound parameter.

The statements are written with named parameters (``:department``) and run on raw asyncpg, on the
session's connection and transaction (``driver_connection``): each text is turned once into asyncpg's
positional form (``$1``) and prepared by asyncpg's statement cache; the rows are the same dicts.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.db import driver_connection

GROUPS: dict[str, str] = {
    "none": "'all'",
    "department": "r.department",
    "cost_center": "r.cost_center",
    "category": "r.category",
    "vendor": "r.vendor_id",
    "amount_band": "r.amount_band",
}
PERIODS: dict[str, str] = {
    "month": "to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM')",
    "week": "to_char({col} AT TIME ZONE 'UTC', 'IYYY-\"W\"IW')",
    "day": "to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
}


@dataclass(frozen=True)
class Scope:
    """Filters every report accepts; ``start``/``end`` bound the time the figure belongs to."""

    start: datetime | None = None
    end: datetime | None = None
    department: str | None = None
    cost_center: str | None = None
    category: str | None = None
    vendor_id: str | None = None

    def where(self, time_col: str) -> tuple[str, dict[str, Any]]:
        clauses, params = ["TRUE"], {}
        for name in ("department", "cost_center", "category", "vendor_id"):
            value = getattr(self, name)
            if value is not None:
                clauses.append(f"r.{name} = :{name}")
                params[name] = value
        if self.start is not None:
            clauses.append(f"{time_col} >= :start")
            params["start"] = self.start
        if self.end is not None:
            clauses.append(f"{time_col} < :end")
            params["end"] = self.end
        return " AND ".join(clauses), params


_NAMED = re.compile(r"(?<![:\w]):(\w+)")
"""A named parameter: a colon after neither a colon (``::text`` casts) nor a word character (``'HH24:MI'``)."""


@functools.lru_cache(maxsize=256)
def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with ``:name`` parameters as asyncpg's ``$n`` (the same name, the same number), and the names."""
    names: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        return f"${names.setdefault(match.group(1), len(names) + 1)}"

    return _NAMED.sub(number, sql), tuple(names)


async def _rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    statement, names = positional(sql)
    conn = await driver_connection(session)
    return [dict(row.items()) for row in await conn.fetch(statement, *(params[n] for n in names))]


def group_expr(group_by: str, period: str | None, time_col: str) -> str:
    expr = GROUPS[group_by]
    if period is not None:
        expr = (
            PERIODS[period].format(col=time_col)
            if group_by == "none"
            else f"{expr} || ' ' || " + PERIODS[period].format(col=time_col)
        )
    return expr


async def cycle_times(
    session: AsyncSession, *, group_by: str, period: str | None, scope: Scope
) -> list[dict[str, Any]]:
    where, params = scope.where("s.ended_at")
    grp = group_expr(group_by, period, "s.ended_at")
    sql = f"""
        SELECT {grp} AS "group", s.stage, count(*) AS requests,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY s.seconds) AS p50_seconds,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY s.seconds) AS p90_seconds,
               max(s.seconds) AS max_seconds
        FROM stage_duration s JOIN request_view r USING (request_id)
        WHERE {where}
        GROUP BY 1, 2 ORDER BY 1, 2"""
    return await _rows(session, sql, params)


async def stage_shares(session: AsyncSession, *, scope: Scope) -> list[dict[str, Any]]:
    where, params = scope.where("s.ended_at")
    sql = f"""
        SELECT s.stage, count(*) AS requests, sum(s.seconds) AS total_seconds,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY s.seconds) AS p50_seconds,
               coalesce(sum(s.seconds) / nullif(sum(sum(s.seconds)) OVER (), 0), 0) AS share
        FROM stage_duration s JOIN request_view r USING (request_id)
        WHERE s.stage <> 'cycle' AND {where}
        GROUP BY s.stage ORDER BY total_seconds DESC, s.stage"""
    return await _rows(session, sql, params)


async def approvers(session: AsyncSession, *, as_of: datetime, scope: Scope) -> list[dict[str, Any]]:
    where, params = scope.where("t.assigned_at")
    sql = f"""
        WITH t AS (SELECT t.* FROM approval_task t JOIN request_view r USING (request_id) WHERE {where}),
        people AS (
            SELECT assignee_id AS id, assignee_name AS name FROM t
            UNION SELECT on_behalf_of_id, on_behalf_of_name FROM t WHERE on_behalf_of_id IS NOT NULL),
        named AS (SELECT id, min(name) AS name FROM people GROUP BY id)
        SELECT n.id AS approver_id, n.name AS approver_name,
            (SELECT count(*) FROM t WHERE t.assignee_id = n.id AND t.decided_at IS NOT NULL) AS decided,
            (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.decided_at - t.assigned_at))
               FROM t WHERE t.assignee_id = n.id AND t.decided_at IS NOT NULL) AS median_response_seconds,
            (SELECT count(*) FROM t WHERE t.assignee_id = n.id AND t.closed_at IS NULL) AS open_tasks,
            (SELECT max(extract(epoch FROM :as_of - t.assigned_at))
               FROM t WHERE t.assignee_id = n.id AND t.closed_at IS NULL) AS oldest_open_task_seconds,
            (SELECT coalesce(sum(t.reminders), 0) FROM t WHERE t.assignee_id = n.id) AS reminders,
            (SELECT count(*) FROM t WHERE t.assignee_id = n.id AND t.closed_reason = 'escalated') AS escalations,
            (SELECT count(*) FROM t WHERE t.on_behalf_of_id = n.id) AS delegations
        FROM named n
        ORDER BY median_response_seconds DESC NULLS LAST, oldest_open_task_seconds DESC NULLS LAST, n.id"""
    return await _rows(session, sql, {**params, "as_of": as_of})


async def vendors(session: AsyncSession, *, scope: Scope) -> list[dict[str, Any]]:
    where, params = scope.where("a.asked_at")
    sql = f"""
        WITH a AS (
            SELECT a.vendor_id, a.answer, extract(epoch FROM a.answered_at - a.asked_at) AS seconds
            FROM vendor_answer a JOIN request_view r USING (request_id) WHERE {where}),
        s AS (
            SELECT c.vendor_id, extract(epoch FROM c.vendor_signed_at - c.generated_at) AS seconds
            FROM contract_signing c JOIN request_view r USING (request_id)
            WHERE c.vendor_signed_at IS NOT NULL AND c.generated_at IS NOT NULL),
        ids AS (SELECT vendor_id FROM a UNION SELECT vendor_id FROM s WHERE vendor_id IS NOT NULL)
        SELECT ids.vendor_id, coalesce(v.legal_name, '') AS vendor_name,
            (SELECT count(*) FROM a WHERE a.vendor_id = ids.vendor_id) AS asked,
            (SELECT count(*) FROM a WHERE a.vendor_id = ids.vendor_id AND a.answer = 'accepted') AS accepted,
            (SELECT count(*) FROM a WHERE a.vendor_id = ids.vendor_id AND a.answer = 'declined') AS declined,
            (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY a.seconds) FROM a
               WHERE a.vendor_id = ids.vendor_id AND a.seconds IS NOT NULL) AS median_answer_seconds,
            (SELECT max(a.seconds) FROM a WHERE a.vendor_id = ids.vendor_id) AS max_answer_seconds,
            (SELECT count(*) FROM s WHERE s.vendor_id = ids.vendor_id) AS signed,
            (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s.seconds) FROM s
               WHERE s.vendor_id = ids.vendor_id) AS median_signing_seconds
        FROM ids LEFT JOIN vendor v ON v.vendor_id = ids.vendor_id
        ORDER BY median_answer_seconds DESC NULLS LAST, median_signing_seconds DESC NULLS LAST, ids.vendor_id"""
    return await _rows(session, sql, params)


async def revisions(session: AsyncSession, *, scope: Scope) -> list[dict[str, Any]]:
    where, params = scope.where("r.first_submitted_at")
    sql = f"""
        SELECT r.request_id, r.number, r.title, r.department, r.changes_requested, r.revision,
               coalesce((SELECT s.seconds FROM stage_duration s
                         WHERE s.request_id = r.request_id AND s.stage = 'rework'), 0) AS rework_seconds
        FROM request_view r WHERE r.changes_requested > 0 AND {where}
        ORDER BY r.changes_requested DESC, r.first_submitted_at, r.request_id"""
    return await _rows(session, sql, params)


async def failed_deliveries(session: AsyncSession, *, scope: Scope, limit: int) -> list[dict[str, Any]]:
    where, params = scope.where("d.occurred_at")
    sql = f"""
        SELECT d.event_id, d.request_id, r.number, d.channel, d.recipient, d.template, d.attempts,
               d.attempts > 1 AS retried, d.error, d.occurred_at
        FROM failed_delivery d LEFT JOIN request_view r USING (request_id)
        WHERE {where} ORDER BY d.occurred_at DESC, d.event_id LIMIT :limit"""
    return await _rows(session, sql, {**params, "limit": limit})


async def task_sla(session: AsyncSession, *, by: str, as_of: datetime, scope: Scope) -> list[dict[str, Any]]:
    key = {"step": "t.step", "approver": "t.assignee_id"}[by]
    where, params = scope.where("t.assigned_at")
    sql = f"""
        SELECT {key} AS key, min(t.assignee_name) FILTER (WHERE {key} = t.assignee_id) AS approver_name,
               count(*) AS tasks,
               count(*) FILTER (WHERE t.decided_at IS NOT NULL) AS decided,
               count(*) FILTER (WHERE t.decided_at IS NOT NULL AND t.due_at IS NOT NULL
                                AND t.decided_at <= t.due_at) AS decided_within_due,
               count(*) FILTER (WHERE t.closed_reason = 'escalated') AS escalated,
               count(*) FILTER (WHERE t.closed_at IS NULL AND t.due_at < :as_of) AS open_overdue
        FROM approval_task t JOIN request_view r USING (request_id)
        WHERE {where} GROUP BY 1 ORDER BY 1"""
    rows = await _rows(session, sql, {**params, "as_of": as_of})
    for row in rows:
        row["within_due_share"] = row["decided_within_due"] / row["decided"] if row["decided"] else None
    return rows


async def open_requests(
    session: AsyncSession, *, older_than_seconds: float, as_of: datetime, scope: Scope
) -> list[dict[str, Any]]:
    where, params = scope.where("r.first_submitted_at")
    sql = f"""
        SELECT r.request_id, r.number, r.title, r.department, r.status,
               r.first_submitted_at, extract(epoch FROM :as_of - r.first_submitted_at) AS age_seconds,
               r.waiting_kind, r.waiting_who, r.waiting_since,
               extract(epoch FROM :as_of - r.waiting_since) AS waiting_seconds,
               coalesce(v.legal_name, '') AS vendor_name, r.vendor_id
        FROM request_view r LEFT JOIN vendor v ON v.vendor_id = r.vendor_id
        WHERE r.ended_at IS NULL AND r.first_submitted_at IS NOT NULL
          AND r.first_submitted_at <= :as_of - make_interval(secs => :older)
          AND {where}
        ORDER BY r.first_submitted_at, r.request_id"""
    return await _rows(session, sql, {**params, "as_of": as_of, "older": older_than_seconds})


async def spend(
    session: AsyncSession, *, group_by: str, by_month: bool, reporting_currency: str, scope: Scope
) -> list[dict[str, Any]]:
    """Amounts per group (and month), converted with the rate valid on the day of each figure."""
    where, params = scope.where("l.occurred_at")
    grp = GROUPS[group_by]
    month = PERIODS["month"].format(col="l.occurred_at") if by_month else "''"
    sql = f"""
        WITH l AS (
            SELECT {grp} AS "group", {month} AS month, l.kind, l.currency, l.amount,
                   CASE WHEN l.currency = :reporting THEN 1 ELSE (
                       SELECT x.rate FROM fx_rate x
                       WHERE x.currency = l.currency AND x.valid_from <= (l.occurred_at AT TIME ZONE 'UTC')::date
                       ORDER BY x.valid_from DESC LIMIT 1) END AS rate
            FROM spend_line l JOIN request_view r USING (request_id) WHERE {where})
        SELECT "group", month, kind, currency, rate IS NOT NULL AS converted,
               sum(amount) AS amount, sum(amount * rate) AS reporting_amount
        FROM l GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4"""
    return await _rows(session, sql, {**params, "reporting": reporting_currency})


async def request_view(session: AsyncSession, request_id: str) -> dict[str, Any] | None:
    rows = await _rows(session, "SELECT * FROM request_view WHERE request_id = :id", {"id": request_id})
    if not rows:
        return None
    row = rows[0]
    row["stages"] = await _rows(
        session,
        "SELECT stage, started_at, ended_at, seconds FROM stage_duration "
        "WHERE request_id = :id ORDER BY started_at, stage",
        {"id": request_id},
    )
    return row


async def rates(session: AsyncSession) -> list[dict[str, Any]]:
    return await _rows(session, "SELECT currency, valid_from, rate FROM fx_rate ORDER BY currency, valid_from", {})
