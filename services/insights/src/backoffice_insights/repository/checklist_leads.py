"""Onboarding and offboarding lead times: the ``checklist_lead`` rows and the report over them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Float, cast, extract, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.db import driver_connection
from backoffice_insights.models import checklist_lead

_RECORD = (
    "INSERT INTO checklist_lead (checklist_id, kind, template_key, department, status, started_at, ended_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (checklist_id) DO UPDATE SET kind = excluded.kind,"
    " template_key = excluded.template_key, department = excluded.department,"
    " started_at = coalesce(checklist_lead.started_at, excluded.started_at)"
)
_RECORD_RUNNING = _RECORD
"""A start: the row made, or its start kept (an end that arrived first stays)."""
_RECORD_ENDED = _RECORD + ", status = excluded.status, ended_at = excluded.ended_at"
"""A completion or cancellation: also the status and the end."""

LeadGroup = Literal["none", "template", "department"]
_DAYS = cast(extract("epoch", checklist_lead.c.ended_at - checklist_lead.c.started_at), Float) / 86400.0


async def record(
    session: AsyncSession,
    *,
    checklist_id: str,
    kind: str,
    template_key: str,
    department: str | None,
    status: str,
    started_at: datetime | None,
    ended_at: datetime | None,
) -> None:
    """Whatever arrives first makes the row; a start never undoes an end, the first start time stays.

    One raw asyncpg statement on the session's connection and transaction (``driver_connection``)."""
    conn = await driver_connection(session)
    sql = _RECORD_RUNNING if status == "running" else _RECORD_ENDED
    await conn.execute(sql, checklist_id, kind, template_key, department, status, started_at, ended_at)


async def lead_times(
    session: AsyncSession, *, kind: str | None, group_by: LeadGroup, start: datetime | None, end: datetime | None
) -> list[dict[str, Any]]:
    """Per kind (and template or department): how many completed, cancelled and running, and the
    completed ones' lead time from start to completion in days (mean, median, 90th percentile, max)."""
    group = {
        "none": None,
        "template": checklist_lead.c.template_key,
        "department": func.coalesce(checklist_lead.c.department, ""),
    }[group_by]
    done = checklist_lead.c.status == "completed"
    columns = [
        checklist_lead.c.kind,
        (group if group is not None else literal("")).label("group"),
        func.count().filter(done).label("completed"),
        func.count().filter(checklist_lead.c.status == "cancelled").label("cancelled"),
        func.count().filter(checklist_lead.c.status == "running").label("running"),
        func.avg(_DAYS).filter(done).label("mean_days"),
        func.percentile_cont(0.5).within_group(_DAYS).filter(done).label("median_days"),
        func.percentile_cont(0.9).within_group(_DAYS).filter(done).label("p90_days"),
        func.max(_DAYS).filter(done).label("max_days"),
    ]
    query = select(*columns).group_by(*([checklist_lead.c.kind] + ([group] if group is not None else [])))
    if kind is not None:
        query = query.where(checklist_lead.c.kind == kind)
    if start is not None:
        query = query.where(checklist_lead.c.started_at >= start)
    if end is not None:
        query = query.where(checklist_lead.c.started_at < end)
    rows = (await session.execute(query.order_by(*[c for c in (checklist_lead.c.kind, group) if c is not None]))).all()
    return [
        {
            "kind": r.kind,
            "group": r.group,
            "completed": r.completed,
            "cancelled": r.cancelled,
            "running": r.running,
            **{k: None if getattr(r, k) is None else round(float(getattr(r, k)), 2) for k in _FIGURES},
        }
        for r in rows
    ]


_FIGURES = ("mean_days", "median_days", "p90_days", "max_days")
