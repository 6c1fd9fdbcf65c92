"""Who must approve a request, in which order, and why: policy evaluation against the directory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from backoffice_approvals.domain.budget import BudgetCheck
from backoffice_approvals.domain.money import UnknownRateError, convert
from backoffice_approvals.domain.people import Approver, Directory, Person
from backoffice_approvals.domain.plan import Plan, PlannedStep, PriorApprovals
from backoffice_approvals.domain.policy import (
    CostCentreOwnerSelector,
    DepartmentHeadSelector,
    GroupSelector,
    ManagerSelector,
    PolicyDocument,
    Step,
    UserSelector,
)


class NotADecimalError(ValueError):
    """The request total is no finite decimal (text, NaN, Infinity): nothing can route it."""


def request_total(snapshot: Mapping[str, Any]) -> Decimal:
    """The request total as a finite Decimal; ``NotADecimalError`` for anything else."""
    raw = snapshot.get("total", "0")
    if isinstance(raw, bool) or raw is None:
        raise NotADecimalError(f"the request total {raw!r} is not a decimal")
    try:
        total = Decimal(str(raw))
    except (InvalidOperation, ValueError) as exc:
        raise NotADecimalError(f"the request total {raw!r} is not a decimal") from exc
    if not total.is_finite():
        raise NotADecimalError(f"the request total {raw!r} is not a decimal")
    return total


def amount_in_base(
    snapshot: Mapping[str, Any], *, policy: PolicyDocument, base: str, rates: Mapping[str, Decimal]
) -> Decimal | None:
    """The request total in the policy's currency, or None when no rate is configured.

    Raises ``NotADecimalError`` when the total is no finite decimal (``plan_chain`` blocks the chain)."""
    total = request_total(snapshot)
    try:
        return convert(total, str(snapshot.get("currency", "")), into=policy.base_currency, base=base, rates=rates)
    except UnknownRateError:
        return None


def step_applies(
    step: Step,
    snapshot: Mapping[str, Any],
    amount: Decimal | None,
    budget: BudgetCheck | None = None,
    *,
    department: str,
) -> tuple[bool, str]:
    """``department`` is the requester's verified department (``_Router.requester_department``): the
    request's own field is free text and must not decide which steps, hence which approvers, apply."""
    cond = step.when
    # An amount we cannot convert counts as above every threshold, so it never slips past one.
    if cond.amount_min is not None and amount is not None and amount < cond.amount_min:
        return False, f"amount {amount} is below {cond.amount_min}"
    if cond.amount_max is not None and (amount is None or amount > cond.amount_max):
        return False, f"amount {amount if amount is not None else 'unknown'} is above {cond.amount_max}"
    checks = [
        ("department", cond.departments, department),
        ("category", cond.categories, snapshot.get("category")),
        ("vendor", cond.vendors, snapshot.get("vendor_id")),
        ("cost center", cond.cost_centers, snapshot.get("cost_center")),
    ]
    for label, allowed, value in checks:
        if allowed is not None and value not in allowed:
            return False, f"{label} {value!r} is not one of {allowed}"
    if cond.budget_statuses is not None:
        status = (budget or BudgetCheck.fallback()).status
        if status not in cond.budget_statuses:
            return False, f"budget status {status!r} is not one of {cond.budget_statuses}"
    return True, "conditions met"


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any], fields: Iterable[str]) -> list[str]:
    return [f for f in fields if before.get(f) != after.get(f)]


class _Router:
    def __init__(
        self,
        *,
        policy: PolicyDocument,
        snapshot: Mapping[str, Any],
        directory: Directory,
        base: str,
        rates: Mapping[str, Decimal],
        fallback: Person,
        budget: BudgetCheck,
    ) -> None:
        self.policy = policy
        self.budget = budget
        self.snapshot = snapshot
        self.directory = directory
        self.base = base
        self.rates = rates
        self.fallback = fallback
        self.requester_id = str(snapshot.get("requester", {}).get("id", ""))
        self.amount = amount_in_base(snapshot, policy=policy, base=base, rates=rates)
        self.used: set[str] = set()
        self.owners: dict[str, Person] = {}

    def requester_department(self) -> tuple[str, str]:
        """The requester's department as the directory knows it (the request's own field is what the
        requester typed, so it must not choose its approver); the request's field only for someone the
        directory does not list with a department. Returns (department, the reason's suffix)."""
        listed = self.directory.get(self.requester_id)
        if listed is not None and listed.department:
            return listed.department, f" (department {listed.department} of the requester in the directory)"
        return str(self.snapshot.get("department", "")), ""

    def designated(self, step: Step) -> tuple[list[str], list[str]]:
        selector = step.approvers
        if isinstance(selector, ManagerSelector):
            current = self.requester_id
            for level in range(selector.levels):
                manager = self.directory.manager_of(current)
                if manager is None:
                    return [], [f"the requester has no manager at level {level + 1}"]
                current = manager.id
            return [current], [f"manager level {selector.levels} of the requester is {current}"]
        if isinstance(selector, DepartmentHeadSelector):
            department, why = self.requester_department()
            department = selector.department or department
            head = self.directory.head_of(department)
            if head is None:
                return [], [f"department {department!r} has no head"]
            return [head.id], [f"{head.id} heads department {department}{why}"]
        if isinstance(selector, GroupSelector):
            members = [a.id for a in self.directory.members_of(selector.group)]
            return members, [f"group {selector.group} ({selector.mode}): {', '.join(members) or 'no members'}"]
        if isinstance(selector, CostCentreOwnerSelector):
            owner = self.budget.owner
            if owner is None:
                return [], [f"the budget check names no owner of cost centre {self.snapshot.get('cost_center')!r}"]
            self.owners[owner.id] = owner
            return [owner.id], [f"{owner.id} owns cost centre {self.snapshot.get('cost_center')}"]
        assert isinstance(selector, UserSelector)
        return [selector.user], [f"named approver {selector.user}"]

    def limit_allows(self, approver: Approver) -> bool:
        if approver.limit_amount is None:
            return True
        if self.amount is None:
            return False
        try:
            limit = convert(
                approver.limit_amount,
                approver.limit_currency or self.base,
                into=self.policy.base_currency,
                base=self.base,
                rates=self.rates,
            )
        except UnknownRateError:
            return False
        return limit >= self.amount

    def eligible(self, user_id: str, reasons: list[str], *, pass_up: bool = True) -> str | None:
        """The designated approver, or (``pass_up``) the first manager above them who may approve."""
        current: str | None = user_id
        visited: set[str] = set()
        then = "passed to their manager" if pass_up else "left out of the group"
        while current and current not in visited:
            visited.add(current)
            approver = self.directory.get(current)
            if current == self.requester_id:
                reasons.append(f"{current} is the requester and cannot approve; {then}")
            elif current in self.used:
                reasons.append(f"{current} already fills another step; {then}")
            elif approver is not None and not approver.active:
                reasons.append(f"{current} is inactive; {then}")
            elif approver is not None and not self.limit_allows(approver):
                reasons.append(
                    f"{current}'s limit {approver.limit_amount} {approver.limit_currency or self.base} "
                    f"is below the amount; {then}"
                )
            else:
                return current
            if not pass_up:
                return None
            current = approver.manager_id if approver else None
        return None

    def person(self, user_id: str) -> Person:
        approver = self.directory.get(user_id)
        if approver is not None:
            return approver.person
        if user_id == self.fallback.id:
            return self.fallback
        if user_id in self.owners:
            return self.owners[user_id]
        return Person(user_id, user_id, "")

    def fallback_person(self) -> Person:
        if self.policy.fallback_approver:
            return self.person(self.policy.fallback_approver)
        return self.fallback


def plan_chain(
    *,
    policy: PolicyDocument,
    snapshot: Mapping[str, Any],
    directory: Directory,
    base: str,
    rates: Mapping[str, Decimal],
    fallback: Person,
    prior: PriorApprovals | None = None,
    budget: BudgetCheck | None = None,
) -> Plan:
    """The steps this request must pass, with the approvers of each and the reasons for every choice.

    ``budget`` is the revision's budget check; without one it counts as ``no_budget`` (the fallback).
    """
    budget = budget or BudgetCheck.fallback()
    try:
        request_total(snapshot)
    except NotADecimalError as exc:
        # Checked before the router converts the amount: a clean blocked chain, never a crash.
        return Plan([], [budget.describe()], blocked=str(exc))
    router = _Router(
        policy=policy, snapshot=snapshot, directory=directory, base=base, rates=rates, fallback=fallback, budget=budget
    )
    notes: list[str] = [budget.describe()]
    if router.amount is None:
        notes.append(f"no exchange rate for {snapshot.get('currency')!r}: the amount counts as above every threshold")
    else:
        notes.append(f"amount {router.amount} {policy.base_currency}")
    department, why_department = router.requester_department()
    if why_department:
        notes.append(f"department conditions use {why_department.strip(' ()')}")
    steps: list[PlannedStep] = []
    stage = -1
    for step in policy.steps:
        applies, why = step_applies(step, snapshot, router.amount, budget, department=department)
        if not applies:
            notes.append(f"step {step.name} skipped: {why}")
            continue
        if not step.parallel_with_previous or stage < 0:
            stage += 1
        designated, reasons = router.designated(step)
        chosen = _chosen(router, step, designated, reasons)
        if not chosen:
            fallback_person = router.fallback_person()
            if fallback_person.id == router.requester_id or fallback_person.id in router.used:
                return Plan(steps, notes, blocked=f"step {step.name}: nobody may approve, not even the fallback")
            reasons.append(f"nobody eligible; routed to the fallback approver {fallback_person.id}")
            chosen = [fallback_person.id]
        mode, required = _required(step, len(chosen))
        planned = PlannedStep(
            index=len(steps),
            name=step.name,
            stage=stage,
            mode=mode,
            required=required,
            approvers=[router.person(c) for c in chosen],
            due_seconds=step.due_seconds,
            reminder_share=step.reminder_share,
            reasons=reasons,
            business_hours=policy.business_hours.model_dump(mode="json") if policy.business_hours else None,
        )
        if prior is not None:
            _carry_over(planned, step, prior, snapshot)
        router.used.update(chosen)
        steps.append(planned)
    if not steps:
        notes.append("no step applies: approved without approvers")
    return Plan(steps, notes)


def _chosen(router: _Router, step: Step, designated: list[str], reasons: list[str]) -> list[str]:
    """The eligible approvers of a step (empty when only the fallback is left)."""
    chosen: list[str] = []
    if isinstance(step.approvers, GroupSelector):
        # Members who may not approve drop out of a group; only an empty group passes up.
        chosen = [m for m in designated if router.eligible(m, reasons, pass_up=False)]
    if not chosen:
        for user_id in designated:
            picked = router.eligible(user_id, reasons)
            if picked and picked not in chosen:
                chosen.append(picked)
    return chosen


def _required(step: Step, chosen: int) -> tuple[str, int]:
    """The step's mode and how many of the ``chosen`` approvers must approve."""
    selector = step.approvers
    if not isinstance(selector, GroupSelector) or selector.mode == "any":
        return "any", 1
    if selector.mode == "all":
        return "all", chosen
    return "quorum", min(selector.quorum or 1, chosen)


def _carry_over(planned: PlannedStep, step: Step, prior: PriorApprovals, snapshot: Mapping[str, Any]) -> None:
    earlier = set(prior.approved_by_step.get(step.name, ()))
    who = [p for p in planned.approvers if p.id in earlier]
    if not who:
        return
    changed = changed_fields(prior.snapshot, snapshot, step.relevant_fields)
    names = ", ".join(p.id for p in who)
    if step.reapproval == "if_relevant_changed" and not changed:
        planned.carried_over = who
        planned.reasons.append(f"{names} approved revision {prior.revision}; relevant fields unchanged, carried over")
    else:
        because = f"changed: {', '.join(changed)}" if changed else "the policy always asks again"
        planned.reasons.append(f"{names} approved revision {prior.revision}; must approve again ({because})")
