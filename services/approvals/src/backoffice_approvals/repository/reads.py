"""Read queries of the API: tasks with their chain, a request's chains (``task_lists`` pages ``GET /tasks``).

``GET /tasks/{id}`` and ``GET /requests/{id}/chain`` read on a connection without a transaction
(``backoffice_common.db.read_connection``), as raw asyncpg: the task and its chain in ONE statement; a
request's chains, then their tasks (two statements, as in the unit of work they replaced: READ COMMITTED,
where each statement saw its own snapshot too). Rows come back with the columns as attributes, the
values as SQLAlchemy's rows gave them (the same connection codecs). A decision's answer reads its task the
same way once the decision is committed (``task_row_now``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import asyncpg

from backoffice_approvals.models import approval_chain, approval_task

_TASK_COLUMNS = tuple(c.name for c in approval_task.c)
_CHAIN_COLUMNS = tuple(c.name for c in approval_chain.c)
_CHAIN_OF_TASK = ("steps", "snapshot", "requester")

_TASK_WITH_CHAIN_SQL = (
    "SELECT "  # noqa: S608 - the tables' own column names
    + ", ".join(f"t.{c}" for c in _TASK_COLUMNS)
    + ", "
    + ", ".join(f"c.{c} AS chain_{c}" for c in _CHAIN_OF_TASK)
    + " FROM approval_task t JOIN approval_chain c ON c.id = t.chain_id WHERE t.id = $1"
)
_TASK_SQL = f"SELECT {', '.join(_TASK_COLUMNS)} FROM approval_task WHERE id = $1"  # noqa: S608
_CHAINS_OF_REQUEST_SQL = (
    f"SELECT {', '.join(_CHAIN_COLUMNS)} FROM approval_chain WHERE request_id = $1 ORDER BY revision"  # noqa: S608
)
_TASKS_OF_CHAINS_SQL = (
    f"SELECT {', '.join(_TASK_COLUMNS)} FROM approval_task"  # noqa: S608
    " WHERE chain_id = ANY($1::text[]) ORDER BY created_at"
)


async def task_row_now(conn: asyncpg.Connection, task_id: str) -> Any:
    """A task's row on a connection without a transaction (the decision's answer, read after its commit)."""
    row = await conn.fetchrow(_TASK_SQL, task_id)
    return SimpleNamespace(**dict(row.items())) if row is not None else None


async def task_with_chain(conn: asyncpg.Connection, task_id: str) -> tuple[Any, Any] | None:
    """The task's row and its chain's steps, snapshot and requester, in one statement; None if no such task."""
    row = await conn.fetchrow(_TASK_WITH_CHAIN_SQL, task_id)
    if row is None:
        return None
    task = SimpleNamespace(**{c: row[c] for c in _TASK_COLUMNS})
    chain = SimpleNamespace(**{c: row[f"chain_{c}"] for c in _CHAIN_OF_TASK})
    return task, chain


async def chain_rows_of_request(conn: asyncpg.Connection, request_id: str) -> list[Any]:
    return [SimpleNamespace(**dict(r.items())) for r in await conn.fetch(_CHAINS_OF_REQUEST_SQL, request_id)]


async def task_rows_of_chains(conn: asyncpg.Connection, chain_ids: list[str]) -> list[Any]:
    return [SimpleNamespace(**dict(r.items())) for r in await conn.fetch(_TASKS_OF_CHAINS_SQL, chain_ids)]
