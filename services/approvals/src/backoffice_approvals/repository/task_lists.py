"""The SQL of ``GET /tasks``: one page of a user's open tasks or of their decided ones, as lean rows.

Each list is a union of id sets, each walking its own partial index and cut at the page size: open
tasks per assignee (the user and whoever is away and named them as delegate) along
``(assignee_id, due_at, id)``; decided tasks along ``(assignee_id, decided_at DESC, id DESC)`` and
``(decided_by->>'id', decided_at DESC, id DESC)``. Only the page's rows are joined to their chain, and
only a few fields of its snapshot are read. Run as raw asyncpg statements, one prepared statement per
shape of the filter; ``page_rows_core`` is the same list in SQLAlchemy Core."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, literal, literal_column, select, tuple_, union
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_approvals.models import absence, approval_chain, approval_task
from backoffice_common.db import driver_connection

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
    tasks newest decision first. One prepared raw statement per shape of the filter (``page_rows_core``
    is the same list as SQLAlchemy Core, which the tests compare it with)."""
    conn = await driver_connection(session)
    sql = _page_sql(
        where.state == OPEN,
        where.request_id is not None,
        where.due_before is not None,
        where.due_from is not None,
        where.step is not None,
        after is not None,
    )
    first: Any = [user_id, *delegating] if where.state == OPEN else user_id
    args = [
        first,
        limit,
        *(v for v in (where.request_id, where.due_before, where.due_from, where.step) if v is not None),
    ]
    rows = await conn.fetch(sql, *args, *(after or ()))
    return [SimpleNamespace(**dict(r.items())) for r in rows]


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


_PAGE_COLUMNS = (
    "t.id, t.chain_id, t.request_id, c.steps -> t.step_index ->> 'name' AS step, t.status, t.assignee,"
    " t.on_behalf_of, t.decision, t.decided_by, t.decided_at, t.due_at, t.created_at,"
    " c.snapshot ->> 'number' AS request_number, c.snapshot ->> 'title' AS request_title,"
    " c.snapshot ->> 'total' AS request_total, c.snapshot ->> 'currency' AS request_currency,"
    " c.snapshot -> 'requester' ->> 'name' AS request_requester_name"
)


@cache
def _page_sql(open_tasks: bool, request_id: bool, due_before: bool, due_from: bool, step: bool, after: bool) -> str:
    """The page's statement for one shape of the filter: $1 the assignees (open) or the user (decided),
    $2 the page size, then the filter's values in ``TaskFilter``'s order, then the cursor position.

    Open tasks: each assignee's walk ``ix_approval_task_open_assignee_due`` cut at the page size (a
    lateral join over the assignees instead of a union of one branch each). Decided tasks: the two walks
    by assignee and by decider, newest decision first, each cut at the page size. Then only the page's
    rows are joined to their chains."""
    conditions, number = [], 3
    for present, condition in (
        (request_id, "o.request_id = ${}"),
        (due_before, "o.due_at < ${}::timestamptz"),
        (due_from, "o.due_at >= ${}::timestamptz"),
        (step, "oc.steps -> o.step_index ->> 'name' = ${}"),
    ):
        if present:
            conditions.append(" AND " + condition.format(number))
            number += 1
    filters = "".join(conditions)
    source = "approval_task o" + (" JOIN approval_chain oc ON oc.id = o.chain_id" if step else "")
    # The page's ids are joined to their rows (a primary-key lookup each) rather than tested with IN,
    # which the planner, not knowing how few assignees the array holds, answered with a scan of every task.
    page = (
        f"SELECT {_PAGE_COLUMNS} FROM ({{ids}}) AS x JOIN approval_task t ON t.id = x.id"  # noqa: S608
        " JOIN approval_chain c ON c.id = t.chain_id ORDER BY {order} LIMIT $2"
    )
    if open_tasks:
        position = f" AND (o.due_at, o.id) > (${number}::timestamptz, ${number + 1}::text)" if after else ""
        ids = (
            "SELECT o.id FROM (SELECT DISTINCT unnest($1::text[]) AS assignee_id) AS a CROSS JOIN LATERAL"  # noqa: S608
            f" (SELECT o.id FROM {source} WHERE o.status = 'open' AND o.assignee_id = a.assignee_id"
            f"{filters}{position} ORDER BY o.due_at, o.id LIMIT $2) AS o"
        )
        return page.format(ids=ids, order="t.due_at, t.id")
    position = f" AND (o.decided_at, o.id) < (${number}::timestamptz, ${number + 1}::text)" if after else ""
    branches = [
        f"(SELECT o.id FROM {source} WHERE o.decision IS NOT NULL AND {mine} = $1{filters}{position}"  # noqa: S608
        " ORDER BY o.decided_at DESC, o.id DESC LIMIT $2)"
        for mine in ("o.assignee_id", "o.decided_by ->> 'id'")
    ]
    return page.format(ids=" UNION ".join(branches), order="t.decided_at DESC, t.id DESC")
