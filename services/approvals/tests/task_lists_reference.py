"""The reference implementations of ``GET /tasks``' pages, for the tests and the bench (not production).

``page_rows_core`` asks every page as SQLAlchemy Core (a union of one id set per assignee or per way a
task is the user's, each cut at the page size); ``task_page_rows`` asks the same pages as the raw
statements of ``backoffice_approvals.repository.task_lists`` inside a session, after ``delegators`` read
apart. What ``GET /tasks`` runs is ``task_list.task_page_rows_now``: the delegators and the page in ONE
statement on a connection without a transaction. The tests compare it row for row with these two
(``tests/integration/test_task_lists.py``), and ``bench/save_tasks_cpu.py`` times them against it."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, literal, literal_column, select, tuple_, union
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_approvals.models import absence, approval_chain, approval_task
from backoffice_approvals.repository.task_lists import (
    _OPEN_PAGE_AFTER,
    _OPEN_PAGE_FIRST,
    OPEN,
    TaskFilter,
    _statement,
)
from backoffice_common.db import driver_connection

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
    """Who is away right now and named the user as their delegate (raw asyncpg: every task list asks)."""
    conn = await driver_connection(session)
    rows = await conn.fetch(
        f"SELECT DISTINCT user_id FROM {absence.name} WHERE delegate_id = $1 AND cancelled_at IS NULL"  # noqa: S608
        " AND starts_at <= $2 AND ends_at > $2",
        user_id,
        now,
    )
    return sorted(r["user_id"] for r in rows)


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
    tasks newest decision first (raw asyncpg: one prepared statement per shape of filter)."""
    if where == TaskFilter():  # the default list (the console's inbox)
        return await _open_page_raw(session, [user_id, *delegating], after, limit)
    sql, args = _statement(where, after, limit, user_id if where.state != OPEN else [user_id, *delegating])
    conn = await driver_connection(session)
    return [SimpleNamespace(**dict(r.items())) for r in await conn.fetch(sql, *args)]


async def page_rows_core(
    *,
    session: AsyncSession,
    user_id: str,
    delegating: list[str],
    where: TaskFilter,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Any]:
    """``task_page_rows`` as a SQLAlchemy Core statement, for every filter."""
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


async def _open_page_raw(
    session: AsyncSession, assignees: list[str], after: tuple[datetime, str] | None, limit: int
) -> list[Any]:
    """``task_page_rows`` without filters, the same rows: each assignee's open tasks walk
    ``ix_approval_task_open_assignee_due`` cut at the page size (a lateral join over the assignees
    instead of a union of one branch each), then the page is joined to its chains."""
    conn = await driver_connection(session)
    if after is None:
        rows = await conn.fetch(_OPEN_PAGE_FIRST, assignees, limit)
    else:
        rows = await conn.fetch(_OPEN_PAGE_AFTER, assignees, limit, after[0], after[1])
    return [SimpleNamespace(**dict(r.items())) for r in rows]
