"""The Chain aggregate (``approval_chain`` and its ``approval_task`` rows): load, add, save."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_approvals.domain.chain import Chain, Task
from backoffice_approvals.domain.people import Person
from backoffice_approvals.domain.plan import PlannedStep
from backoffice_approvals.models import approval_task
from backoffice_common.db import driver_connection

MUTABLE_TASK_COLUMNS = (
    "assignee_id",
    "assignee",
    "on_behalf_of",
    "status",
    "decision",
    "comment",
    "decided_by",
    "decided_on_behalf_of",
    "decided_at",
    "closed_reason",
)


_JSON_TASK_COLUMNS = frozenset({"approver", "assignee", "on_behalf_of", "decided_by", "decided_on_behalf_of"})
_ARRAY_TYPES = {"step_index": "int[]", "stage": "int[]", "decided_at": "timestamptz[]", "due_at": "timestamptz[]"}
_ARRAY_TYPES |= {"remind_at": "timestamptz[]", "created_at": "timestamptz[]"}
_TASK_COLUMNS = tuple(c.name for c in approval_task.c)


def _save_tasks_sql() -> str:
    arrays = ", ".join(f"${i}::{_ARRAY_TYPES.get(c, 'text[]')}" for i, c in enumerate(_TASK_COLUMNS, 1))
    values = ", ".join(f"{c}::jsonb" if c in _JSON_TASK_COLUMNS else c for c in _TASK_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in MUTABLE_TASK_COLUMNS)
    names = ", ".join(_TASK_COLUMNS)
    return (
        f"INSERT INTO approval_task ({names}) SELECT {values} FROM unnest({arrays}) AS t({names})"  # noqa: S608
        f" ON CONFLICT (id) DO UPDATE SET {updates}"
    )


_SAVE_TASKS_SQL = _save_tasks_sql()
_CHAIN_SQL = (
    "SELECT id, request_id, revision, requester, snapshot, steps, policy_version, reminder_share, status"
    " FROM approval_chain WHERE id = $1"
)
_CHAIN_FOR_UPDATE_SQL = _CHAIN_SQL + " FOR UPDATE"
_TASKS_SQL = f"SELECT {', '.join(_TASK_COLUMNS)} FROM approval_task WHERE chain_id = $1 ORDER BY created_at"  # noqa: S608
_TASK_CHAIN_SQL = "SELECT chain_id, status FROM approval_task WHERE id = $1"
_OF_REQUEST_SQL = "SELECT id FROM approval_chain WHERE request_id = $1 ORDER BY revision"
_OF_REQUEST_FOR_UPDATE_SQL = _OF_REQUEST_SQL + " FOR UPDATE"
_ADD_CHAIN_SQL = (
    "INSERT INTO approval_chain (id, request_id, revision, requester, snapshot, steps, notes, policy_version,"
    " reminder_share, status, blocked_reason)"
    " VALUES ($1, $2, $3, $4::text::jsonb, $5::text::jsonb, $6::text::jsonb, $7::text::jsonb, $8, $9, $10, $11)"
)
_SAVE_CHAIN_SQL = "UPDATE approval_chain SET status = $2, updated_at = $3 WHERE id = $1"
"""A chain's tasks in one statement of column arrays (``unnest``): one prepared statement whatever the
number of tasks (a multi-row VALUES is a new statement to compile and prepare for each count).
JSON columns travel as text and are cast, a None becoming JSON ``null`` as SQLAlchemy's JSONB stored it."""


def _person(data: Any) -> Person | None:
    return Person.from_dict(data) if data else None


def _as_dict(person: Person | None) -> dict[str, str] | None:
    return person.as_dict() if person else None


def task_from_row(row: Any) -> Task:
    """From a row of ``approval_task`` by column name (an asyncpg record, a SQLAlchemy row's ``_mapping``)."""
    return Task(
        id=row["id"],
        step_index=row["step_index"],
        stage=row["stage"],
        approver=Person.from_dict(row["approver"]),
        assignee=Person.from_dict(row["assignee"]),
        on_behalf_of=_person(row["on_behalf_of"]),
        due_at=row["due_at"],
        remind_at=row["remind_at"],
        created_at=row["created_at"],
        status=row["status"],
        decision=row["decision"],
        comment=row["comment"],
        decided_by=_person(row["decided_by"]),
        decided_on_behalf_of=_person(row["decided_on_behalf_of"]),
        decided_at=row["decided_at"],
        closed_reason=row["closed_reason"],
        escalated_from=row["escalated_from"],
    )


def _task_values(chain: Chain, t: Task) -> dict[str, Any]:
    return {
        "id": t.id,
        "chain_id": chain.id,
        "request_id": chain.request_id,
        "step_index": t.step_index,
        "stage": t.stage,
        "approver": t.approver.as_dict(),
        "assignee_id": t.assignee.id,
        "assignee": t.assignee.as_dict(),
        "on_behalf_of": _as_dict(t.on_behalf_of),
        "status": t.status,
        "decision": t.decision,
        "comment": t.comment,
        "decided_by": _as_dict(t.decided_by),
        "decided_on_behalf_of": _as_dict(t.decided_on_behalf_of),
        "decided_at": t.decided_at,
        "closed_reason": t.closed_reason,
        "escalated_from": t.escalated_from,
        "due_at": t.due_at,
        "remind_at": t.remind_at,
        "created_at": t.created_at,
    }


def stored_task(chain: Chain, task: Task) -> SimpleNamespace:
    """The task's row as ``save`` writes it (the columns as attributes, the people as the JSON dicts stored):
    what reading the row back after the commit gives (``api.tasks.post_decision`` answers with it)."""
    return SimpleNamespace(**_task_values(chain, task))


class ChainRepository:
    """Chains by id, by task or by request; every chain loaded or added is handed to ``track``."""

    def __init__(self, session: AsyncSession, *, track: Callable[[Any], None]) -> None:
        self.session = session
        self._track = track

    async def get(self, chain_id: str, *, lock: bool = False) -> Chain | None:
        """The chain with its tasks; ``lock`` takes its row lock so concurrent changes serialize.

        Raw asyncpg on the session's connection and transaction (every decision, reminder and escalation
        loads a chain): the chain's row (locked first), then its tasks, as two statements so the tasks
        are read after the lock was granted."""
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(_CHAIN_FOR_UPDATE_SQL if lock else _CHAIN_SQL, chain_id)
        if row is None:
            return None
        tasks = await conn.fetch(_TASKS_SQL, chain_id)
        chain = Chain(
            id=row["id"],
            request_id=row["request_id"],
            revision=row["revision"],
            requester=Person.from_dict(row["requester"]),
            snapshot=row["snapshot"],
            steps=[PlannedStep.from_dict(s) for s in row["steps"]],
            policy_version=row["policy_version"],
            status=row["status"],
            reminder_share=float(row["reminder_share"]),
            tasks=[task_from_row(t) for t in tasks],
        )
        self._track(chain)
        return chain

    async def of_task(self, task_id: str, *, lock: bool = False, open_only: bool = False) -> Chain | None:
        """The chain a task belongs to (None for an unknown task, or a closed one with ``open_only``)."""
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(_TASK_CHAIN_SQL, task_id)
        if row is None or (open_only and row["status"] != "open"):
            return None
        return await self.get(row["chain_id"], lock=lock)

    async def of_request(self, request_id: str, *, lock: bool = False) -> list[Chain]:
        """Every chain of a request, oldest revision first (raw: every submission, revision and cancellation)."""
        conn = await driver_connection(self.session)
        rows = await conn.fetch(_OF_REQUEST_FOR_UPDATE_SQL if lock else _OF_REQUEST_SQL, request_id)
        chains = [await self.get(row["id"]) for row in rows]
        return [c for c in chains if c is not None]

    async def open_task_ids_of(self, user_id: str) -> list[str]:
        query = select(approval_task.c.id).where(
            and_(approval_task.c.status == "open", approval_task.c.assignee_id == user_id)
        )
        return list((await self.session.execute(query)).scalars())

    async def add(self, chain: Chain, *, notes: list[str], blocked_reason: str | None) -> None:
        conn = await driver_connection(self.session)
        await conn.execute(
            _ADD_CHAIN_SQL,
            chain.id,
            chain.request_id,
            chain.revision,
            json.dumps(chain.requester.as_dict()),
            json.dumps(chain.snapshot),
            json.dumps([s.as_dict() for s in chain.steps]),
            json.dumps(notes),
            chain.policy_version,
            Decimal(str(chain.reminder_share)),
            chain.status,
            blocked_reason,
        )
        await self._save_tasks(chain)
        self._track(chain)

    async def save(self, chain: Chain, *, now: datetime) -> None:
        conn = await driver_connection(self.session)
        await conn.execute(_SAVE_CHAIN_SQL, chain.id, chain.status, now)
        await self._save_tasks(chain)

    async def _save_tasks(self, chain: Chain) -> None:
        if not chain.tasks:
            return
        rows = [_task_values(chain, t) for t in chain.tasks]
        columns = [
            [json.dumps(r[c]) for r in rows] if c in _JSON_TASK_COLUMNS else [r[c] for r in rows] for c in _TASK_COLUMNS
        ]
        conn = await driver_connection(self.session)
        await conn.execute(_SAVE_TASKS_SQL, *columns)
