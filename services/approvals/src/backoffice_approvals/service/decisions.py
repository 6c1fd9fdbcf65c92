"""Deciding a task: approve, reject or request changes, as the assignee, their delegate or an admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backoffice_approvals.domain.chain import Chain, Decision, Task
from backoffice_approvals.domain.delegation import resolve_delegate
from backoffice_approvals.domain.errors import DecisionConflict, DecisionForbidden, InvalidDecision, TaskNotFound
from backoffice_approvals.domain.people import Person
from backoffice_approvals.service.planning import assigner, new_id, now_utc
from backoffice_approvals.service.uow import ApprovalsUnitOfWork


@dataclass(frozen=True)
class Decider:
    """Who decides: the person, and whether they hold the admin role."""

    person: Person
    is_admin: bool = False


async def decide(
    *,
    uow: ApprovalsUnitOfWork,
    task_id: str,
    decider: Decider,
    decision: Decision,
    comment: str | None,
    reason: str | None,
) -> tuple[Chain, Task]:
    """Record a decision under the chain's row lock so concurrent decisions serialize, and commit."""
    now = now_utc()
    chain = await uow.chains.of_task(task_id, lock=True)
    if chain is None:
        raise TaskNotFound(f"no task {task_id}")
    task = chain.task(task_id)
    if not task.is_open:
        raise DecisionConflict(f"the task is already {task.status}")
    user = decider.person
    on_behalf_of = await _acting_for(uow=uow, chain=chain, task=task, decider=decider, reason=reason, now=now)
    directory = await uow.directory.load()
    chain.decide(
        task_id=task_id,
        decision=decision,
        comment=comment,
        by=user,
        on_behalf_of=on_behalf_of,
        now=now,
        assign=await assigner(uow=uow, directory=directory, now=now),
        new_id=new_id,
    )
    overriding = decider.is_admin and user.id != task.assignee.id and on_behalf_of is not None and bool(reason)
    if overriding:
        task.closed_reason = f"decided by the admin {user.id}: {reason}"
    await uow.chains.save(chain, now=now)
    uow.attribute_to(actor={"id": user.id, "name": user.name, "role": "admin" if overriding else "approver"})
    await uow.commit()
    return chain, task


async def _acting_for(
    *, uow: ApprovalsUnitOfWork, chain: Chain, task: Task, decider: Decider, reason: str | None, now: datetime
) -> Person | None:
    """Whom the user decides for: None as the assignee (or the task's principal when delegated)."""
    user = decider.person
    if user.id == task.assignee.id:
        return task.on_behalf_of
    absences = await uow.absences.active_at(now)
    directory = await uow.directory.load()
    excluded = chain.excluded_for(task)
    delegate, _ = resolve_delegate(task.assignee, directory=directory, absences=absences, at=now, excluded=excluded)
    if delegate.id == user.id:
        return task.assignee
    if decider.is_admin:
        if not (reason and reason.strip()):
            raise InvalidDecision("an admin deciding for someone else must give a reason")
        return task.assignee
    raise DecisionForbidden("only the assignee, their active delegate or an admin with a reason may decide")
