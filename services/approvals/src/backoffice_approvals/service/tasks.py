"""Who may see a task or a request's chains: the requester, everyone on the chain, an active delegate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from backoffice_approvals.domain.delegation import resolve_delegate
from backoffice_approvals.domain.people import Person
from backoffice_approvals.repository.people import absences_active_on, directory_on
from backoffice_approvals.repository.reads import chain_rows_of_request, task_rows_of_chains, task_with_chain
from backoffice_approvals.service.planning import now_utc
from backoffice_common.auth import User
from backoffice_common.errors import NotFound

PEOPLE_COLUMNS = ("on_behalf_of", "decided_by", "decided_on_behalf_of", "approver")


def people_on(tasks: Sequence[Any]) -> set[str]:
    """Everyone named on the task rows: assignees, principals, deciders, approvers."""
    people: set[str] = set()
    for row in tasks:
        people.add(row.assignee_id)
        people.update(getattr(row, key)["id"] for key in PEOPLE_COLUMNS if getattr(row, key))
    return people


async def may_see(*, conn: asyncpg.Connection, user: User, tasks: Sequence[Any], requester_id: str) -> bool:
    """On a connection without a transaction (``read_connection``): the absences and the directory, read only
    for a user not named on the tasks, are a statement each (each saw its own snapshot in the READ COMMITTED
    unit of work before too)."""
    if user.sees_everything or user.sub == requester_id or user.sub in people_on(tasks):
        return True
    now = now_utc()
    absences = await absences_active_on(conn, now)
    directory = await directory_on(conn)
    for row in tasks:
        if row.status == "open":
            assignee = Person.from_dict(row.assignee)
            delegate, _ = resolve_delegate(assignee, directory=directory, absences=absences, at=now, excluded=())
            if delegate.id == user.sub:
                return True
    return False


async def visible_task(*, conn: asyncpg.Connection, user: User, task_id: str) -> tuple[Any, Any]:
    """The task row and its chain's steps, snapshot and requester (one statement), or NotFound (also when the
    user may not see it)."""
    found = await task_with_chain(conn, task_id)
    if found is None:
        raise NotFound(f"no task {task_id}")
    row, chain = found
    if not await may_see(conn=conn, user=user, tasks=[row], requester_id=chain.requester["id"]):
        raise NotFound(f"no task {task_id}")
    return row, chain


async def visible_chains(*, conn: asyncpg.Connection, user: User, request_id: str) -> tuple[list[Any], list[Any]]:
    """Every chain row of a request and their task rows, or NotFound (also when the user may not see them)."""
    chains = await chain_rows_of_request(conn, request_id)
    if not chains:
        raise NotFound(f"no approval chain for request {request_id}")
    tasks = await task_rows_of_chains(conn, [c.id for c in chains])
    if not await may_see(conn=conn, user=user, tasks=tasks, requester_id=chains[0].requester["id"]):
        raise NotFound(f"no approval chain for request {request_id}")
    return chains, tasks
