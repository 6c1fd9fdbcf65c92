"""Chains follow the request: a submitted revision starts one, a revision or a cancellation withdraws.

A submitted revision is routed once its ``budget.checked`` is known: at once when the check came
first, else the submission waits (``pending_route``) until the check arrives or the ``budget_wait``
timer fires (``APPROVALS_BUDGET_CHECK_WAIT_SECONDS``); then it is routed as ``no_budget`` with the
reason ``not_checked``. With a wait of 0 it is routed at once with whatever check is known.

Called by the consumers (and the timer job), whose unit of work commits together with the inbox row.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from backoffice_approvals.domain.budget import BudgetCheck
from backoffice_approvals.domain.chain import Chain
from backoffice_approvals.domain.people import Directory, Person
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
    """A revision was submitted: route it now if its budget check is known (or waiting is off), else wait.

    Returns what happened, for the inbox.
    """
    uow.attribute_to(cause=cause)
    request_id, revision = str(snapshot["request_id"]), int(snapshot["revision"])
    await uow.budget_checks.lock_request(request_id)
    check = await uow.budget_checks.get(request_id, revision)
    wait = settings.budget_check_wait_seconds
    if check is not None or wait <= 0:
        return await route(uow=uow, snapshot=snapshot, settings=settings, check=check or BudgetCheck.fallback())
    if any(older.revision >= revision for older in await uow.chains.of_request(request_id)):
        return "ignored: a chain of this or a later revision exists"
    await uow.pending.drop(request_id=request_id, up_to_revision=revision - 1)
    pending_id = new_id()
    await uow.pending.add(
        id=pending_id,
        request_id=request_id,
        revision=revision,
        snapshot=snapshot,
        submitted_event=cause.model_dump(mode="json"),
    )
    await uow.timers.schedule(kind="budget_wait", ref_id=pending_id, fire_at=now_utc() + timedelta(seconds=wait))
    return f"waiting up to {wait:g} s for the budget check of revision {revision}"


async def record_budget_check(
    *,
    uow: ApprovalsUnitOfWork,
    request_id: str,
    revision: int,
    check: BudgetCheck,
    settings: Settings,
    cause: CloudEvent,
) -> str:
    """``budget.checked``: keep it, and route the revision if its submission waits for it."""
    uow.attribute_to(cause=cause)
    await uow.budget_checks.lock_request(request_id)
    if not await uow.budget_checks.record(request_id=request_id, revision=revision, check=check, event_id=cause.id):
        return "ignored: the check of this revision is known"
    waiting = await uow.pending.take(request_id=request_id, revision=revision)
    if waiting is None:
        return f"recorded {check.status}"
    return await route(uow=uow, snapshot=dict(waiting.snapshot), settings=settings, check=check)


async def route_unchecked(*, uow: ApprovalsUnitOfWork, pending_id: str, settings: Settings) -> str:
    """The ``budget_wait`` timer: no check arrived in time, so the revision is routed with the fallback."""
    waiting = await uow.pending.peek(pending_id)
    if waiting is None:
        return "nothing waits"
    await uow.budget_checks.lock_request(str(waiting.request_id))
    waiting = await uow.pending.take_by_id(pending_id)
    if waiting is None:
        return "nothing waits"
    uow.attribute_to(cause=CloudEvent.model_validate(waiting.submitted_event))
    log.warning("chain.budget_check_missing", request_id=waiting.request_id, revision=waiting.revision)
    return await route(uow=uow, snapshot=dict(waiting.snapshot), settings=settings, check=BudgetCheck.fallback())


async def route(*, uow: ApprovalsUnitOfWork, snapshot: dict[str, Any], settings: Settings, check: BudgetCheck) -> str:
    """Withdraw older chains of the request, then plan and start this revision's chain."""
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
    plan = make_plan(
        policy=policy, snapshot=snapshot, directory=directory, settings=settings, prior=prior, budget=check
    )
    chain = Chain(
        id=new_id(),
        request_id=request_id,
        revision=revision,
        requester=requester_of(snapshot, directory),
        snapshot=snapshot,
        steps=plan.steps,
        policy_version=version,
        reminder_share=settings.reminder_share,
    )
    if plan.blocked:
        log.warning("chain.blocked", request_id=request_id, revision=revision, reason=plan.blocked)
        chain.block(reason=plan.blocked)
    else:
        chain.start(now=now, assign=await assigner(uow=uow, directory=directory, now=now), new_id=new_id)
    await uow.chains.add(chain, notes=plan.notes, blocked_reason=plan.blocked)
    return f"chain {chain.id}: {chain.status}"


async def withdraw_request(
    *, uow: ApprovalsUnitOfWork, request_id: str, up_to_revision: int, reason: str, cause: CloudEvent
) -> str:
    """Cancellation or a new revision: every running chain up to ``up_to_revision`` stops."""
    uow.attribute_to(cause=cause)
    await uow.budget_checks.lock_request(request_id)
    dropped = await uow.pending.drop(request_id=request_id, up_to_revision=up_to_revision)
    now = now_utc()
    withdrawn = 0
    for chain in await uow.chains.of_request(request_id, lock=True):
        if chain.revision > up_to_revision or chain.status not in RUNNING:
            continue
        chain.withdraw(reason=reason)
        await uow.chains.save(chain, now=now)
        withdrawn += 1
    if dropped:
        return f"withdrew {withdrawn} chain(s); {dropped} submission(s) no longer wait for a budget check"
    return f"withdrew {withdrawn} chain(s)"


def requester_of(snapshot: dict[str, Any], directory: Directory) -> Person:
    """The requester as the snapshot names them, with their language from the directory (when it lists them),
    so every event that names the requester (rejected, changes requested, approved, blocked) lets notifications
    write to them in it. The snapshot itself stays as the request sent it."""
    requester = Person.from_dict(snapshot["requester"])
    listed = directory.get(requester.id)
    if listed is None:
        return requester
    return Person(requester.id, requester.name, requester.email, listed.language)
