"""What the use cases share: the clock and ids, the active policy, planning a chain, delegation."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from backoffice_approvals.domain.budget import BudgetCheck
from backoffice_approvals.domain.chain import Assigner
from backoffice_approvals.domain.delegation import resolve_delegate
from backoffice_approvals.domain.people import Directory, Person
from backoffice_approvals.domain.plan import Plan, PriorApprovals
from backoffice_approvals.domain.policy import PolicyDocument, builtin_policy
from backoffice_approvals.domain.routing import plan_chain
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_approvals.settings import Settings


def now_utc() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def fallback_person(settings: Settings) -> Person:
    return Person(
        settings.fallback_approver_id,
        settings.fallback_approver_name,
        settings.fallback_approver_email,
        settings.default_language,
    )


async def current_policy(*, uow: ApprovalsUnitOfWork, settings: Settings) -> tuple[int, PolicyDocument]:
    """The latest loaded policy, or version 0: the built-in default."""
    loaded = await uow.policies.active()
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
    budget: BudgetCheck | None = None,
) -> Plan:
    return plan_chain(
        policy=policy,
        snapshot=snapshot,
        directory=directory,
        base=settings.base_currency,
        rates=settings.exchange_rates,
        fallback=fallback_person(settings),
        prior=prior,
        budget=budget,
    )


async def assigner(*, uow: ApprovalsUnitOfWork, directory: Directory, now: datetime) -> Assigner:
    """Who works a new task of an approver now: the approver, or whom their absence names."""
    absences = await uow.absences.active_at(now)

    def assign(approver: Person, excluded: Collection[str]) -> tuple[Person, Person | None]:
        return resolve_delegate(approver, directory=directory, absences=absences, at=now, excluded=excluded)

    return assign
