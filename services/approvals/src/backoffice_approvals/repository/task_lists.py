"""The SQL of ``GET /tasks``: one page of a user's open tasks or of their decided ones, as lean rows.

Each list is a union of id sets, each walking its own partial index and cut at the page size: open
tasks per assignee (the user and whoever is away and named them as delegate) along
``(assignee_id, due_at, id)``; decided tasks along ``(assignee_id, decided_at DESC, id DESC)`` and
``(decided_by->>'id', decided_at DESC, id DESC)``. Only the page's rows are joined to their chain, and
only a few fields of its snapshot are read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, literal, literal_column, select, tuple_, union
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_approvals.models import absence, approval_chain, approval_task

OPEN = "open"


@dataclass(frozen=True)
class TaskFilter:
    state: str = OPEN
    step: str | None = None
    request_id: str | None = None
    due_before: datetime | None = None
    due_from: datetime | None = None


# Written as literals, not bound parameters, so that a generic plan still matches the partial and
# expression indexes.
IS_OPEN = approval_task.c.status == literal_column("'open'")


def _decider_id() -> Any:
    return approval_task.c.decided_by.op("->>")(literal_column("'id'"))


def _step_name() -> Any:
    return approval_chain.c.steps[approval_task.c.step_index]["name"].astext


def _snapshot(key: str) -> Any:
    return approval_chain.c.snapshot[key].astext.label(f"request_{key}")


async def delegators(*, session: AsyncSession, user_id: str, now: datetime) -> list[str]:
    """Who is away right now and named the user as their delegate."""
    query = select(absence.c.user_id).where(
        absence.c.delegate_id == user_id,
        absence.c.cancelled_at.is_(None),
        absence.c.starts_at <= now,
        absence.c.ends_at > now,
    )
    return sorted(set((await session.execute(query)).scalars()))


def _filtered(query: Select[Any], where: TaskFilter) -> Select[Any]:
    t = approval_task
    if where.request_id is not None:
        query = query.where(t.c.request_id == where.request_id)
    if where.due_before is not None:
        query = query.where(t.c.due_at < where.due_before)
    if where.due_from is not None:
        query = query.where(t.c.due_at >= where.due_from)
    if where.step is not None:
        query = query.join(approval_chain, approval_chain.c.id == t.c.chain_id).where(_step_name() == where.step)
    return query


def _open_ids(assignees: list[str], where: TaskFilter, after: tuple[datetime, str] | None, limit: int) -> Any:
    t = approval_task
    branches = []
    for assignee in assignees:
        query = select(t.c.id).where(IS_OPEN, t.c.assignee_id == assignee)
        if after is not None:
            query = query.where(tuple_(t.c.due_at, t.c.id) > tuple_(literal(after[0]), literal(after[1])))
        branches.append(_filtered(query, where).order_by(t.c.due_at, t.c.id).limit(limit).subquery().select())
    return union(*branches).subquery() if len(branches) > 1 else branches[0].subquery()


def _decided_ids(user_id: str, where: TaskFilter, after: tuple[datetime, str] | None, limit: int) -> Any:
    t = approval_task
    branches = []
    for mine in (t.c.assignee_id == user_id, _decider_id() == user_id):
        query = select(t.c.id).where(t.c.decision.is_not(None), mine)
        if after is not None:
            query = query.where(tuple_(t.c.decided_at, t.c.id) < tuple_(literal(after[0]), literal(after[1])))
        ordered = _filtered(query, where).order_by(t.c.decided_at.desc(), t.c.id.desc()).limit(limit)
        branches.append(ordered.subquery().select())
    return union(*branches).subquery()


async def task_page_rows(
    *,
    session: AsyncSession,
    user_id: str,
    delegating: list[str],
    where: TaskFilter,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Any]:
    """At most ``limit`` lean rows after the cursor position ``after``: open tasks by due date, decided
    tasks newest decision first."""
    t = approval_task
    if where.state == OPEN:
        ids = _open_ids([user_id, *delegating], where, after, limit)
        order: tuple[Any, ...] = (t.c.due_at, t.c.id)
    else:
        ids = _decided_ids(user_id, where, after, limit)
        order = (t.c.decided_at.desc(), t.c.id.desc())
    query = (
        select(
            t.c.id,
            t.c.chain_id,
            t.c.request_id,
            _step_name().label("step"),
            t.c.status,
            t.c.assignee,
            t.c.on_behalf_of,
            t.c.decision,
            t.c.decided_by,
            t.c.decided_at,
            t.c.due_at,
            t.c.created_at,
            _snapshot("number"),
            _snapshot("title"),
            _snapshot("total"),
            _snapshot("currency"),
            approval_chain.c.snapshot["requester"]["name"].astext.label("request_requester_name"),
        )
        .join(approval_chain, approval_chain.c.id == t.c.chain_id)
        .where(t.c.id.in_(select(ids.c.id)))
        .order_by(*order)
        .limit(limit)
    )
    return list((await session.execute(query)).all())
