"""Chains follow the request: a submitted revision starts one, a revision or a cancellation withdraws.

Called by the consumers, whose unit of work commits together with the inbox row.
"""

from __future__ import annotations

from typing import Any

import structlog

from backoffice_approvals.domain.chain import Chain
from backoffice_approvals.domain.people import Person
from backoffice_approvals.domain.plan import PriorApprovals
from backoffice_approvals.service.planning import assigner, current_policy, make_plan, new_id, now_utc
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_approvals.settings import Settings
from backoffice_common.events import CloudEvent

log = structlog.get_logger(__name__)

RUNNING = ("in_progress", "blocked")


def _prior(older: Chain) -> PriorApprovals:
    """Who approved which step of an earlier revision, carried-over approvals included."""
    approved: dict[str, list[str]] = {}
    for task in older.tasks:
        if task.decision == "approved" and task.decided_by is not None:
            approved.setdefault(older.steps[task.step_index].name, []).append(task.approver.id)
    for step in older.steps:
        approved.setdefault(step.name, []).extend(p.id for p in step.carried_over)
    return PriorApprovals(revision=older.revision, snapshot=older.snapshot, approved_by_step=approved)


async def start_chain(
    *, uow: ApprovalsUnitOfWork, snapshot: dict[str, Any], settings: Settings, cause: CloudEvent
) -> str:
    """A revision was submitted: withdraw older chains of the request, then route this revision.

    Returns what happened, for the inbox.
    """
    uow.attribute_to(cause=cause)
    request_id, revision = str(snapshot["request_id"]), int(snapshot["revision"])
    now = now_utc()
    existing = await uow.chains.of_request(request_id, lock=True)
    if any(older.revision >= revision for older in existing):
        return "ignored: a chain of this or a later revision exists"
    prior: PriorApprovals | None = None
    for older in existing:
        older.withdraw(reason=f"superseded by revision {revision}")
        await uow.chains.save(older, now=now)
        prior = _prior(older)
    version, policy = await current_policy(uow=uow, settings=settings)
    directory = await uow.directory.load()
    plan = make_plan(policy=policy, snapshot=snapshot, directory=directory, settings=settings, prior=prior)
    chain = Chain(
        id=new_id(),
        request_id=request_id,
        revision=revision,
        requester=Person.from_dict(snapshot["requester"]),
        snapshot=snapshot,
        steps=plan.steps,
        policy_version=version,
        status="blocked" if plan.blocked else "in_progress",
        reminder_share=settings.reminder_share,
    )
    if plan.blocked:
        log.warning("chain.blocked", request_id=request_id, revision=revision, reason=plan.blocked)
    else:
        chain.start(now=now, assign=await assigner(uow=uow, directory=directory, now=now), new_id=new_id)
    await uow.chains.add(chain, notes=plan.notes, blocked_reason=plan.blocked)
    return f"chain {chain.id}: {chain.status}"


async def withdraw_request(
    *, uow: ApprovalsUnitOfWork, request_id: str, up_to_revision: int, reason: str, cause: CloudEvent
) -> str:
    """Cancellation or a new revision: every running chain up to ``up_to_revision`` stops."""
    uow.attribute_to(cause=cause)
    now = now_utc()
    withdrawn = 0
    for chain in await uow.chains.of_request(request_id, lock=True):
        if chain.revision > up_to_revision or chain.status not in RUNNING:
            continue
        chain.withdraw(reason=reason)
        await uow.chains.save(chain, now=now)
        withdrawn += 1
    return f"withdrew {withdrawn} chain(s)"
