# ruff: noqa: S608 - only the module's own constant buckets are interpolated
"""The figures behind /metrics, read in a few aggregate queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_insights.metrics import STAGE_BUCKETS, TASK_AGE_BUCKETS, Reading
from backoffice_insights.repository.store import FoldQueue


async def read(session: AsyncSession, *, now: datetime) -> Reading:
    reading = Reading()
    buckets = ", ".join(f"count(*) FILTER (WHERE seconds <= {b})" for b in STAGE_BUCKETS)
    for row in await session.execute(
        text(f"SELECT stage, sum(seconds), count(*), {buckets} FROM stage_duration GROUP BY stage")
    ):
        reading.stages[row[0]] = ([int(c) for c in row[3:]], float(row[1] or 0.0), int(row[2]))
    ages = ", ".join(
        f"count(*) FILTER (WHERE age >= {low}" + (f" AND age < {high})" if high is not None else ")")
        for _, low, high in TASK_AGE_BUCKETS
    )
    row = (
        await session.execute(
            text(
                f"SELECT {ages} FROM (SELECT extract(epoch FROM :now - assigned_at) AS age FROM approval_task "
                "WHERE closed_at IS NULL AND assigned_at IS NOT NULL) t"
            ),
            {"now": now},
        )
    ).one()
    reading.open_tasks = {name: int(row[i]) for i, (name, _, _) in enumerate(TASK_AGE_BUCKETS)}
    for kind, count in await session.execute(
        text(
            "SELECT waiting_kind, count(*) FROM request_view "
            "WHERE ended_at IS NULL AND waiting_kind IS NOT NULL GROUP BY 1"
        )
    ):
        reading.open_requests[kind] = int(count)
    for kind, department, currency, amount in await session.execute(
        text(
            "SELECT l.kind, r.department, l.currency, sum(l.amount) FROM spend_line l "
            "JOIN request_view r USING (request_id) GROUP BY 1, 2, 3"
        )
    ):
        reading.spend[(kind, department, currency)] = float(amount)
    pending, failed = await FoldQueue(session).size()
    reading.fold_queue = {"pending": pending, "failed": failed}
    return reading
