"""Application services for chains: start on submission, withdraw, decide. Callers commit."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog

from backoffice_approvals.domain.chain import Chain, ChainError, Decision, Task
from backoffice_approvals.domain.people import Directory, Person
from backoffice_approvals.domain.policy import PolicyDocument, builtin_policy
from backoffice_approvals.domain.routing import Plan, PriorApprovals, plan_chain, resolve_delegate
from backoffice_approvals.publishing import publish_chain_events
from backoffice_approvals.repository import (
    active_policy,
    chains_of_request,
    insert_chain,
    load_absences,
    load_chain,
    load_directory,
    save_chain,
    save_tasks,
    task_row,
)
from backoffice_approvals.settings import Settings
from backoffice_common.events import CloudEvent
from backoffice_common.uow import UnitOfWork

log = structlog.get_logger(__name__)


def now_utc() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def fallback_person(settings: Settings) -> Person:
    return Person(settings.fallback_approver_id, settings.fallback_approver_name, settings.fallback_approver_email)


async def current_policy(*, uow: UnitOfWork, settings: Settings) -> tuple[int, PolicyDocument]:
    """The latest loaded policy, or version 0: the built-in default."""
    loaded = await active_policy(session=uow.session)
    if loaded is not None:
        return loaded
    return 0, builtin_policy(
        base_currency=settings.base_currency,
        head_threshold=settings.default_head_threshold,
        due_seconds=settings.default_due_seconds,
    )


def make_plan(
    *,
    policy: PolicyDocument,
    snapshot: Mapping[str, Any],
    directory: Directory,
    settings: Settings,
    prior: PriorApprovals | None = None,
) -> Plan:
    return plan_chain(
        policy=policy,
        snapshot=snapshot,
        directory=directory,
        base=settings.base_currency,
        rates=settings.exchange_rates,
        fallback=fallback_person(settings),
        prior=prior,
    )


async def _assigner(*, uow: UnitOfWork, directory: Directory, now: datetime) -> Any:
    absences = await load_absences(session=uow.session, at=now)

    def assign(approver: Person, excluded: Collection[str]) -> tuple[Person, Person | None]:
        return resolve_delegate(approver, directory=directory, absences=absences, at=now, excluded=excluded)

    return assign


def _requester(snapshot: Mapping[str, Any]) -> Person:
    return Person.from_dict(snapshot["requester"])


async def start_chain(*, uow: UnitOfWork, snapshot: dict[str, Any], settings: Settings, cause: CloudEvent) -> None:
    """A revision was submitted: withdraw older chains of the request, then route this revision."""
    request_id = str(snapshot["request_id"])
    revision = int(snapshot["revision"])
    now = now_utc()
    existing = await chains_of_request(session=uow.session, request_id=request_id, lock=True)
    if any(row.revision >= revision for row in existing):
        return  # a duplicate or a late submission of an older revision: nothing to do
    prior: PriorApprovals | None = None
    for row in existing:
        older = await load_chain(session=uow.session, chain_id=row.id)
        assert older is not None
        older.withdraw(reason=f"superseded by revision {revision}")
        await save_chain(session=uow.session, chain=older, now=now)
        await publish_chain_events(uow, older, cause=cause)
        approved: dict[str, list[str]] = {}
        for task in older.tasks:
            if task.decision == "approved" and task.decided_by is not None:
                approved.setdefault(older.steps[task.step_index].name, []).append(task.approver.id)
        for step in older.steps:
            approved.setdefault(step.name, []).extend(p.id for p in step.carried_over)
        prior = PriorApprovals(revision=older.revision, snapshot=older.snapshot, approved_by_step=approved)
    version, policy = await current_policy(uow=uow, settings=settings)
    directory = await load_directory(session=uow.session)
    plan = make_plan(policy=policy, snapshot=snapshot, directory=directory, settings=settings, prior=prior)
    chain = Chain(
        id=new_id(),
        request_id=request_id,
        revision=revision,
        requester=_requester(snapshot),
        snapshot=snapshot,
        steps=plan.steps,
        policy_version=version,
        status="blocked" if plan.blocked else "in_progress",
        reminder_share=settings.reminder_share,
    )
    if plan.blocked:
        log.warning("chain.blocked", request_id=request_id, revision=revision, reason=plan.blocked)
    else:
        chain.start(now=now, assign=await _assigner(uow=uow, directory=directory, now=now), new_id=new_id)
    await insert_chain(session=uow.session, chain=chain, notes=plan.notes, blocked_reason=plan.blocked)
    await save_tasks(session=uow.session, chain=chain)
    await publish_chain_events(uow, chain, cause=cause)


async def withdraw_request(
    *, uow: UnitOfWork, request_id: str, up_to_revision: int, reason: str, cause: CloudEvent
) -> None:
    """Cancellation or a new revision: every running chain up to ``up_to_revision`` stops."""
    now = now_utc()
    for row in await chains_of_request(session=uow.session, request_id=request_id, lock=True):
        if row.revision > up_to_revision or row.status not in ("in_progress", "blocked"):
            continue
        chain = await load_chain(session=uow.session, chain_id=row.id)
        assert chain is not None
        chain.withdraw(reason=reason)
        await save_chain(session=uow.session, chain=chain, now=now)
        await publish_chain_events(uow, chain, cause=cause)


class DecisionRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def decide(
    *,
    uow: UnitOfWork,
    task_id: str,
    user: Person,
    is_admin: bool,
    decision: Decision,
    comment: str | None,
    reason: str | None,
    settings: Settings,
) -> tuple[Chain, Task]:
    """Record a decision under the chain's row lock so concurrent decisions serialize."""
    now = now_utc()
    chain_id = await _chain_id_of(uow=uow, task_id=task_id)
    chain = await load_chain(session=uow.session, chain_id=chain_id, lock=True)
    assert chain is not None
    task = chain.task(task_id)
    if not task.is_open:
        raise DecisionRefused(409, f"the task is already {task.status}")
    on_behalf_of = await _acting_for(uow=uow, task=task, user=user, is_admin=is_admin, reason=reason, now=now)
    directory = await load_directory(session=uow.session)
    try:
        chain.decide(
            task_id=task_id,
            decision=decision,
            comment=comment,
            by=user,
            on_behalf_of=on_behalf_of,
            now=now,
            assign=await _assigner(uow=uow, directory=directory, now=now),
            new_id=new_id,
        )
    except ChainError as exc:
        raise DecisionRefused({"conflict": 409, "forbidden": 403}.get(exc.kind, 422), str(exc)) from exc
    overriding = is_admin and user.id != task.assignee.id and on_behalf_of is not None and bool(reason)
    if overriding:
        task.closed_reason = f"decided by the admin {user.id}: {reason}"
    await save_chain(session=uow.session, chain=chain, now=now)
    actor = {"id": user.id, "name": user.name, "role": "admin" if overriding else "approver"}
    await publish_chain_events(uow, chain, actor=actor)
    return chain, task


async def _chain_id_of(*, uow: UnitOfWork, task_id: str) -> str:
    row = await task_row(session=uow.session, task_id=task_id)
    if row is None:
        raise DecisionRefused(404, f"no task {task_id}")
    return str(row.chain_id)


async def _acting_for(
    *, uow: UnitOfWork, task: Task, user: Person, is_admin: bool, reason: str | None, now: datetime
) -> Person | None:
    """Whom the user decides for: None as the assignee (or the task's principal when delegated)."""
    if user.id == task.assignee.id:
        return task.on_behalf_of
    absences = await load_absences(session=uow.session, at=now)
    directory = await load_directory(session=uow.session)
    delegate, _ = resolve_delegate(task.assignee, directory=directory, absences=absences, at=now, excluded=())
    if delegate.id == user.id:
        return task.assignee
    if is_admin:
        if not (reason and reason.strip()):
            raise DecisionRefused(422, "an admin deciding for someone else must give a reason")
        return task.assignee
    raise DecisionRefused(403, "only the assignee, their active delegate or an admin with a reason may decide")
