"""The SQL of ``GET /tasks``: one page of a user's open tasks or of their decided ones, as lean rows.

Each list is a union of id sets, each walking its own partial index and cut at the page size: open
tasks per assignee (the user and whoever is away and named them as delegate) along
``(assignee_id, due_at, id)``; decided tasks along ``(assignee_id, decided_at DESC, id DESC)`` and
``(decided_by->>'id', decided_at DESC, id DESC)``. Only the page's rows are joined to their chain, and
only a few fields of its snapshot are read.

Every list runs as raw asyncpg on the session's connection (``driver_connection``): the default one as one
prepared statement, each filtered shape as its own (``_page_sql``). ``page_rows_core``, the same pages as
SQLAlchemy Core, stays as the reference the tests and ``bench/task_lists_cpu.py`` compare them with."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import asyncpg
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
    tasks newest decision first (raw asyncpg: one prepared statement per shape of filter)."""
    if where == TaskFilter():  # the default list (the console's inbox)
        return await _open_page_raw(session, [user_id, *delegating], after, limit)
    sql, args = _statement(where, after, limit, user_id if where.state != OPEN else [user_id, *delegating])
    conn = await driver_connection(session)
    return [SimpleNamespace(**dict(r.items())) for r in await conn.fetch(sql, *args)]


async def task_page_rows_now(
    conn: asyncpg.Connection,
    *,
    user_id: str,
    now: datetime,
    where: TaskFilter,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Any]:
    """``task_page_rows`` with ``delegators`` (who stands in for whom at ``now``) read in the same ONE
    statement, for a connection without a transaction (``backoffice_common.db.read_connection``): the
    same rows, seen in one snapshot. The open lists' assignees become the user followed by their
    delegators, sorted, as ``delegators`` lists them; the decided list has none."""
    if where.state != OPEN:
        sql, args = _statement(where, after, limit, user_id)
    else:
        sql, args = _statement(where, after, limit, [user_id])
        args.append(now)
        sql = _with_delegators(sql, len(args))
    return [SimpleNamespace(**dict(r.items())) for r in await conn.fetch(sql, *args)]


def _statement(
    where: TaskFilter, after: tuple[datetime, str] | None, limit: int, first: list[str] | str
) -> tuple[str, list[Any]]:
    """The page's statement and its arguments: ``first`` ($1) the assignees (open) or the user (decided)."""
    args: list[Any] = [first, limit]
    if after is not None:
        args += [after[0], after[1]]
    if where == TaskFilter():
        return (_OPEN_PAGE_FIRST if after is None else _OPEN_PAGE_AFTER), args
    sql = _page_sql(
        decided=where.state != OPEN,
        after=after is not None,
        request_id=where.request_id is not None,
        due_before=where.due_before is not None,
        due_from=where.due_from is not None,
        step=where.step is not None,
    )
    args += [v for v in (where.request_id, where.due_before, where.due_from, where.step) if v is not None]
    return sql, args


_ASSIGNEES = "unnest($1::text[])"


@functools.lru_cache(maxsize=64)
def _with_delegators(sql: str, now: int) -> str:
    """An open list's statement with its assignees ($1: the user alone) extended by ``delegators``' query
    (``$now`` the time)."""
    assert sql.count(_ASSIGNEES) == 1, sql
    return sql.replace(
        _ASSIGNEES,
        f"unnest($1::text[] || ARRAY (SELECT DISTINCT user_id FROM {absence.name}"  # noqa: S608 - fixed fragments
        f" WHERE delegate_id = ($1::text[])[1] AND cancelled_at IS NULL AND starts_at <= ${now}::timestamptz"
        f" AND ends_at > ${now}::timestamptz ORDER BY user_id))",
    )


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


def _open_page_sql(*, after: bool) -> str:
    position = " AND (o.due_at, o.id) > ($3::timestamptz, $4::text)" if after else ""
    return (
        f"SELECT {_PAGE_COLUMNS} FROM approval_task t JOIN approval_chain c ON c.id = t.chain_id"  # noqa: S608
        " WHERE t.id IN (SELECT x.id FROM unnest($1::text[]) AS a(assignee_id) CROSS JOIN LATERAL"
        " (SELECT o.id FROM approval_task o WHERE o.status = 'open' AND o.assignee_id = a.assignee_id"
        f"{position} ORDER BY o.due_at, o.id LIMIT $2) AS x)"
        " ORDER BY t.due_at, t.id LIMIT $2"
    )


@functools.lru_cache(maxsize=64)
def _page_sql(*, decided: bool, after: bool, request_id: bool, due_before: bool, due_from: bool, step: bool) -> str:
    """A filtered page as ``page_rows_core`` asks it, in asyncpg's form: $1 the assignees (open) or the user
    (decided), $2 the page size, then the cursor position, then the filters given, in the order of
    ``TaskFilter``. Each id set walks its partial index cut at the page size; only the page is joined."""
    conditions: list[str] = []
    n = 2
    if after:
        if decided:
            conditions.append("(o.decided_at, o.id) < ($3::timestamptz, $4::text)")
        else:
            conditions.append("(o.due_at, o.id) > ($3::timestamptz, $4::text)")
        n = 4
    for given, condition in (
        (request_id, "o.request_id = ${}::text"),
        (due_before, "o.due_at < ${}::timestamptz"),
        (due_from, "o.due_at >= ${}::timestamptz"),
        (step, "(oc.steps -> o.step_index ->> 'name') = ${}::text"),
    ):
        if given:
            n += 1
            conditions.append(condition.format(n))
    extra = "".join(f" AND {c}" for c in conditions)
    chain = " JOIN approval_chain oc ON oc.id = o.chain_id" if step else ""
    if not decided:
        ids = (
            "SELECT x.id FROM unnest($1::text[]) AS a(assignee_id) CROSS JOIN LATERAL"  # noqa: S608 - fixed fragments
            f" (SELECT o.id FROM approval_task o{chain} WHERE o.status = 'open' AND o.assignee_id = a.assignee_id"
            f"{extra} ORDER BY o.due_at, o.id LIMIT $2) AS x"
        )
        order = "t.due_at, t.id"
    else:
        branches = [
            f"(SELECT o.id FROM approval_task o{chain} WHERE o.decision IS NOT NULL AND {mine}{extra}"  # noqa: S608
            " ORDER BY o.decided_at DESC, o.id DESC LIMIT $2)"
            for mine in ("o.assignee_id = $1::text", "(o.decided_by ->> 'id') = $1::text")
        ]
        ids = " UNION ".join(branches)
        order = "t.decided_at DESC, t.id DESC"
    return (
        f"SELECT {_PAGE_COLUMNS} FROM approval_task t JOIN approval_chain c ON c.id = t.chain_id"  # noqa: S608
        f" WHERE t.id IN ({ids}) ORDER BY {order} LIMIT $2"
    )


_OPEN_PAGE_FIRST = _open_page_sql(after=False)
_OPEN_PAGE_AFTER = _open_page_sql(after=True)


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
