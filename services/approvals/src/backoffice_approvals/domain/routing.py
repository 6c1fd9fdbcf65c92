"""Who must approve a request, in which order, and why: policy evaluation against the directory."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from backoffice_approvals.domain.money import UnknownRateError, convert
from backoffice_approvals.domain.people import Absence, Approver, Directory, Person
from backoffice_approvals.domain.policy import (
    DepartmentHeadSelector,
    GroupSelector,
    ManagerSelector,
    PolicyDocument,
    Step,
    UserSelector,
)


@dataclass
class PlannedStep:
    index: int
    name: str
    stage: int
    mode: str
    required: int
    approvers: list[Person]
    due_seconds: int
    reminder_share: float | None
    carried_over: list[Person] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    business_hours: dict[str, Any] | None = None

    @property
    def satisfied_by_carry_over(self) -> bool:
        return len(self.carried_over) >= self.required

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "stage": self.stage,
            "mode": self.mode,
            "required": self.required,
            "approvers": [p.as_dict() for p in self.approvers],
            "due_seconds": self.due_seconds,
            "reminder_share": self.reminder_share,
            "carried_over": [p.as_dict() for p in self.carried_over],
            "reasons": list(self.reasons),
            "business_hours": self.business_hours,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlannedStep:
        return cls(
            index=int(data["index"]),
            name=str(data["name"]),
            stage=int(data["stage"]),
            mode=str(data["mode"]),
            required=int(data["required"]),
            approvers=[Person.from_dict(p) for p in data["approvers"]],
            due_seconds=int(data["due_seconds"]),
            reminder_share=data.get("reminder_share"),
            carried_over=[Person.from_dict(p) for p in data.get("carried_over", [])],
            reasons=list(data.get("reasons", [])),
            business_hours=data.get("business_hours"),
        )


@dataclass
class Plan:
    steps: list[PlannedStep]
    notes: list[str]
    blocked: str | None = None


@dataclass(frozen=True)
class PriorApprovals:
    """What an earlier revision's chain recorded: its snapshot and who approved which step."""

    revision: int
    snapshot: Mapping[str, Any]
    approved_by_step: Mapping[str, Collection[str]]


def amount_in_base(
    snapshot: Mapping[str, Any], *, policy: PolicyDocument, base: str, rates: Mapping[str, Decimal]
) -> Decimal | None:
    """The request total in the policy's currency, or None when no rate is configured."""
    total = Decimal(str(snapshot.get("total", "0")))
    try:
        return convert(total, str(snapshot.get("currency", "")), into=policy.base_currency, base=base, rates=rates)
    except UnknownRateError:
        return None


def step_applies(step: Step, snapshot: Mapping[str, Any], amount: Decimal | None) -> tuple[bool, str]:
    cond = step.when
    # An amount we cannot convert counts as above every threshold, so it never slips past one.
    if cond.amount_min is not None and amount is not None and amount < cond.amount_min:
        return False, f"amount {amount} is below {cond.amount_min}"
    if cond.amount_max is not None and (amount is None or amount > cond.amount_max):
        return False, f"amount {amount if amount is not None else 'unknown'} is above {cond.amount_max}"
    checks = [
        ("department", cond.departments, snapshot.get("department")),
        ("category", cond.categories, snapshot.get("category")),
        ("vendor", cond.vendors, snapshot.get("vendor_id")),
        ("cost center", cond.cost_centers, snapshot.get("cost_center")),
    ]
    for label, allowed, value in checks:
        if allowed is not None and value not in allowed:
            return False, f"{label} {value!r} is not one of {allowed}"
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
    ) -> None:
        self.policy = policy
        self.snapshot = snapshot
        self.directory = directory
        self.base = base
        self.rates = rates
        self.fallback = fallback
        self.requester_id = str(snapshot.get("requester", {}).get("id", ""))
        self.amount = amount_in_base(snapshot, policy=policy, base=base, rates=rates)
        self.used: set[str] = set()

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
            department = selector.department or str(self.snapshot.get("department", ""))
            head = self.directory.head_of(department)
            if head is None:
                return [], [f"department {department!r} has no head"]
            return [head.id], [f"{head.id} heads department {department}"]
        if isinstance(selector, GroupSelector):
            members = [a.id for a in self.directory.members_of(selector.group)]
            return members, [f"group {selector.group} ({selector.mode}): {', '.join(members) or 'no members'}"]
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
) -> Plan:
    """The steps this request must pass, with the approvers of each and the reasons for every choice."""
    router = _Router(policy=policy, snapshot=snapshot, directory=directory, base=base, rates=rates, fallback=fallback)
    notes: list[str] = []
    try:
        Decimal(str(snapshot.get("total", "0")))
    except InvalidOperation:
        return Plan([], [], blocked=f"the request total {snapshot.get('total')!r} is not a decimal")
    if router.amount is None:
        notes.append(f"no exchange rate for {snapshot.get('currency')!r}: the amount counts as above every threshold")
    else:
        notes.append(f"amount {router.amount} {policy.base_currency}")
    steps: list[PlannedStep] = []
    stage = -1
    for step in policy.steps:
        applies, why = step_applies(step, snapshot, router.amount)
        if not applies:
            notes.append(f"step {step.name} skipped: {why}")
            continue
        if not step.parallel_with_previous or stage < 0:
            stage += 1
        designated, reasons = router.designated(step)
        chosen: list[str] = []
        if isinstance(step.approvers, GroupSelector):
            # Members who may not approve drop out of a group; only an empty group passes up.
            chosen = [m for m in designated if router.eligible(m, reasons, pass_up=False)]
        if not chosen:
            for user_id in designated:
                picked = router.eligible(user_id, reasons)
                if picked and picked not in chosen:
                    chosen.append(picked)
        if not chosen:
            fallback_person = router.fallback_person()
            if fallback_person.id == router.requester_id or fallback_person.id in router.used:
                return Plan(steps, notes, blocked=f"step {step.name}: nobody may approve, not even the fallback")
            reasons.append(f"nobody eligible; routed to the fallback approver {fallback_person.id}")
            chosen = [fallback_person.id]
        mode = step.approvers.mode if isinstance(step.approvers, GroupSelector) else "any"
        if mode == "all":
            required = len(chosen)
        elif mode == "quorum":
            quorum = step.approvers.quorum if isinstance(step.approvers, GroupSelector) else 1
            required = min(quorum or 1, len(chosen))
        else:
            required = 1
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


def resolve_delegate(
    approver: Person,
    *,
    directory: Directory,
    absences: Iterable[Absence],
    at: datetime,
    excluded: Collection[str],
) -> tuple[Person, Person | None]:
    """Who works a task of ``approver`` at ``at``: (assignee, on behalf of whom or None).

    An absent approver's delegate takes it; an absent delegate's own delegate after them, without
    loops; with nobody left it goes to the approver's manager (followed the same way).
    """
    active: dict[str, str] = {}
    for absence in absences:
        if absence.covers(at):
            active.setdefault(absence.user_id, absence.delegate_id)
    if approver.id not in active:
        return approver, None
    visited: set[str] = {approver.id}
    candidates = [active[approver.id]]
    manager = directory.manager_of(approver.id)
    while candidates:
        current = candidates.pop(0)
        if current in visited or current in excluded:
            continue
        visited.add(current)
        if current in active:
            candidates.insert(0, active[current])
            continue
        person = directory.get(current)
        return (person.person if person else Person(current, current, "")), approver
    while manager is not None and manager.id not in visited:
        visited.add(manager.id)
        if manager.id not in excluded:
            delegate, _ = resolve_delegate(
                manager.person, directory=directory, absences=absences, at=at, excluded={*excluded, approver.id}
            )
            return delegate, approver
        manager = directory.get(manager.manager_id)
    return approver, None
