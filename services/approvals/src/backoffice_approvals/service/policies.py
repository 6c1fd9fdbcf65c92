"""Approval policies: validating and loading a version, and the dry run of a request."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from backoffice_approvals.domain.budget import BudgetCheck
from backoffice_approvals.domain.delegation import resolve_delegate
from backoffice_approvals.domain.errors import InvalidPolicy
from backoffice_approvals.domain.people import Directory, Person
from backoffice_approvals.domain.plan import PlannedStep
from backoffice_approvals.domain.policy import PolicyDocument, reference_problems
from backoffice_approvals.service.planning import current_policy, make_plan, now_utc
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_approvals.settings import Settings


def validate_policy(raw: Any, directory: Directory, settings: Settings, *, prefix: str = "") -> PolicyDocument:
    """The policy document, or InvalidPolicy locating every problem (under ``prefix``)."""
    if not isinstance(raw, dict):
        raise InvalidPolicy([(prefix or "body", "a policy must be an object")])
    try:
        document = PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        raise InvalidPolicy.from_pydantic(exc, prefix=prefix) from exc
    problems = reference_problems(document, directory)
    base = document.base_currency
    if base != settings.base_currency and base not in settings.exchange_rates:
        problems.append(("base_currency", f"no exchange rate is configured for {base} (APPROVALS_EXCHANGE_RATES)"))
    if problems:
        raise InvalidPolicy([(f"{prefix}.{loc}" if prefix else loc, msg) for loc, msg in problems])
    return document


async def load_policy(*, uow: ApprovalsUnitOfWork, raw: Any, created_by: str, settings: Settings) -> dict[str, Any]:
    """A new policy version, stored as validated; chains already running keep theirs."""
    document = validate_policy(raw, await uow.directory.load(), settings)
    stored = document.model_dump(mode="json")
    version, created_at = await uow.policies.add(stored, name=document.name, created_by=created_by)
    fact = {"version": version, "name": document.name, "created_by": created_by, "document": stored}
    uow.record_fact(type="approval_policy.loaded", subject=str(version), data=fact)
    await uow.commit()
    return {
        "version": version,
        "name": document.name,
        "document": stored,
        "created_by": created_by,
        "created_at": created_at,
    }


def _maybe(person: Person | None) -> dict[str, str] | None:
    return person.as_dict() if person else None


async def dry_run(
    *,
    uow: ApprovalsUnitOfWork,
    snapshot: dict[str, Any],
    draft: dict[str, Any] | None,
    settings: Settings,
    budget: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Who would approve this request, in which order and why; with a ``draft`` policy, under that one.

    ``budget`` is the check to assume (``status``, ``over_by``, ``currency``, ``owner``); without it the
    routing fallback (``no_budget``, not checked).
    """
    directory = await uow.directory.load()
    version: int | None
    if draft is not None:
        version, document = None, validate_policy(draft, directory, settings, prefix="policy")
    else:
        version, document = await current_policy(uow=uow, settings=settings)
    check = BudgetCheck.from_dict(budget) if budget else BudgetCheck.fallback()
    plan = make_plan(policy=document, snapshot=snapshot, directory=directory, settings=settings, budget=check)
    now = now_utc()
    absences = await uow.absences.active_at(now)
    requester = str(snapshot["requester"]["id"])

    def planned(step: PlannedStep) -> dict[str, Any]:
        others = {requester} | {p.id for s in plan.steps if s.index != step.index for p in s.approvers}
        approvers = []
        for person in step.approvers:
            assignee, on_behalf = resolve_delegate(
                person, directory=directory, absences=absences, at=now, excluded=others
            )
            approvers.append(
                {"approver": person.as_dict(), "assignee": assignee.as_dict(), "on_behalf_of": _maybe(on_behalf)}
            )
        return {
            "name": step.name,
            "stage": step.stage,
            "mode": step.mode,
            "required": step.required,
            "approvers": approvers,
            "carried_over": [p.as_dict() for p in step.carried_over],
            "due_seconds": step.due_seconds,
            "reasons": step.reasons,
        }

    steps = [planned(step) for step in plan.steps]
    return {"policy_version": version, "steps": steps, "notes": plan.notes, "blocked": plan.blocked}
