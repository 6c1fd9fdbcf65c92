"""The SQL of ``GET /tasks``: one page of a user's open tasks or of their decided ones, as lean rows.

Each list is a union of id sets, each walking its own partial index and cut at the page size: open
tasks per assignee (the user and whoever is away and named them as delegate) along
``(assignee_id, due_at, id)``; decided tasks along ``(assignee_id, decided_at DESC, id DESC)`` and
``(decided_by->>'id', decided_at DESC, id DESC)``. Only the page's rows are joined to their chain, and
only a few fields of its snapshot are read.

Every list runs as ONE raw asyncpg statement on a connection without a transaction
(``task_page_rows_now``, on ``backoffice_common.db.read_connection``): the default one as one prepared
statement, each filtered shape as its own (``_page_sql``), who the user stands in for read in the same
statement. The references the tests and ``bench/save_tasks_cpu.py`` compare it with (the same pages as
SQLAlchemy Core, ``page_rows_core``, and as these statements after the delegators read apart,
``task_page_rows``) live in ``tests/task_lists_reference.py``."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import asyncpg

from backoffice_approvals.models import absence

OPEN = "open"


@dataclass(frozen=True)
class TaskFilter:
    state: str = OPEN
    step: str | None = None
    request_id: str | None = None
    due_before: datetime | None = None
    due_from: datetime | None = None


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
    """A filtered page as ``page_rows_core`` (the tests' reference) asks it, in asyncpg's form: $1 the
    assignees (open) or the user (decided), $2 the page size, then the cursor position, then the filters
    given, in the order of ``TaskFilter``. Each id set walks its partial index cut at the page size; only
    the page is joined."""
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
