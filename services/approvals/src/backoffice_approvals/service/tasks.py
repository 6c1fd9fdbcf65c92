"""Who may see a task or a request's chains: the requester, everyone on the chain, an active delegate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backoffice_approvals.domain.delegation import resolve_delegate
from backoffice_approvals.domain.people import Person
from backoffice_approvals.repository.reads import chain_row, chain_rows_of_request, task_row, task_rows_of_chains
from backoffice_approvals.service.planning import now_utc
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
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


async def may_see(*, uow: ApprovalsUnitOfWork, user: User, tasks: Sequence[Any], requester_id: str) -> bool:
    if user.sees_everything or user.sub == requester_id or user.sub in people_on(tasks):
        return True
    now = now_utc()
    absences = await uow.absences.active_at(now)
    directory = await uow.directory.load()
    for row in tasks:
        if row.status == "open":
            assignee = Person.from_dict(row.assignee)
            delegate, _ = resolve_delegate(assignee, directory=directory, absences=absences, at=now, excluded=())
            if delegate.id == user.sub:
                return True
    return False


async def visible_task(*, uow: ApprovalsUnitOfWork, user: User, task_id: str) -> tuple[Any, Any]:
    """The task row and its chain row, or NotFound (also when the user may not see it)."""
    row = await task_row(session=uow.session, task_id=task_id)
    if row is None:
        raise NotFound(f"no task {task_id}")
    chain = await chain_row(session=uow.session, chain_id=row.chain_id)
    if not await may_see(uow=uow, user=user, tasks=[row], requester_id=chain.requester["id"]):
        raise NotFound(f"no task {task_id}")
    return row, chain


async def visible_chains(*, uow: ApprovalsUnitOfWork, user: User, request_id: str) -> tuple[list[Any], list[Any]]:
    """Every chain row of a request and their task rows, or NotFound (also when the user may not see them)."""
    chains = await chain_rows_of_request(session=uow.session, request_id=request_id)
    if not chains:
        raise NotFound(f"no approval chain for request {request_id}")
    tasks = await task_rows_of_chains(session=uow.session, chain_ids=[c.id for c in chains])
    if not await may_see(uow=uow, user=user, tasks=tasks, requester_id=chains[0].requester["id"]):
        raise NotFound(f"no approval chain for request {request_id}")
    return chains, tasks
