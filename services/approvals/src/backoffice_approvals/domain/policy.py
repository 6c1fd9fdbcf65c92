"""An approval policy as data: ordered steps with conditions and approver selectors."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backoffice_approvals.domain.budget import BudgetStatus
from backoffice_approvals.domain.people import Directory

Code = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00]+$")]
RelevantField = Literal["total", "currency", "vendor_id", "lines", "category", "cost_center", "department"]
RELEVANT_DEFAULT: list[RelevantField] = ["total", "currency", "vendor_id", "lines", "category", "cost_center"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """All given criteria must hold; an absent criterion matches anything."""

    amount_min: Decimal | None = Field(default=None, ge=0, max_digits=20, decimal_places=4)
    amount_max: Decimal | None = Field(default=None, ge=0, max_digits=20, decimal_places=4)
    departments: list[Code] | None = Field(default=None, max_length=200)
    categories: list[Code] | None = Field(default=None, max_length=200)
    vendors: list[Code] | None = Field(default=None, max_length=200)
    cost_centers: list[Code] | None = Field(default=None, max_length=200)
    budget_statuses: list[BudgetStatus] | None = Field(default=None, min_length=1, max_length=3)
    """The revision's budget check (``budget.checked``): ``within_budget``, ``over_budget``, ``no_budget``."""

    @model_validator(mode="after")
    def _bounds_are_ordered(self) -> Condition:
        if self.amount_min is not None and self.amount_max is not None and self.amount_min > self.amount_max:
            raise ValueError("amount_min is greater than amount_max")
        if self.budget_statuses is not None and len(set(self.budget_statuses)) != len(self.budget_statuses):
            raise ValueError("budget_statuses names a status twice")
        return self


class ManagerSelector(_Strict):
    kind: Literal["manager"]
    levels: int = Field(default=1, ge=1, le=10)


class DepartmentHeadSelector(_Strict):
    kind: Literal["department_head"]
    department: Code | None = None


class GroupSelector(_Strict):
    kind: Literal["group"]
    group: Code
    mode: Literal["any", "all", "quorum"] = "any"
    quorum: int | None = Field(default=None, ge=1, le=100)

    @model_validator(mode="after")
    def _quorum_only_with_quorum_mode(self) -> GroupSelector:
        if self.mode == "quorum" and self.quorum is None:
            raise ValueError("mode 'quorum' needs a quorum")
        if self.mode != "quorum" and self.quorum is not None:
            raise ValueError("quorum is only allowed with mode 'quorum'")
        return self


class UserSelector(_Strict):
    kind: Literal["user"]
    user: Code


class CostCentreOwnerSelector(_Strict):
    """The owner of the request's cost centre, as the budget check names them (``budget.checked`` owner)."""

    kind: Literal["cost_centre_owner"]


Selector = Annotated[
    ManagerSelector | DepartmentHeadSelector | GroupSelector | UserSelector | CostCentreOwnerSelector,
    Field(discriminator="kind"),
]


class Step(_Strict):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    when: Condition = Condition()
    approvers: Selector
    parallel_with_previous: bool = False
    due_seconds: int = Field(default=172800, ge=1, le=90 * 86400)
    reminder_share: float | None = Field(default=None, gt=0, lt=1)
    reapproval: Literal["always", "if_relevant_changed"] = "always"
    relevant_fields: list[RelevantField] = Field(default_factory=lambda: list(RELEVANT_DEFAULT))


class BusinessHoursSpec(_Strict):
    """Due times count only these hours (wall-clock time in ``timezone``)."""

    timezone: str = Field(min_length=1, max_length=100)
    start: time = time(9)
    end: time = time(17)
    days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5], min_length=1, max_length=7)

    @model_validator(mode="after")
    def _sane(self) -> BusinessHoursSpec:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        if self.start >= self.end:
            raise ValueError("start must be before end")
        if any(d < 1 or d > 7 for d in self.days):
            raise ValueError("days are ISO weekdays from 1 (Monday) to 7 (Sunday)")
        return self


class PolicyDocument(_Strict):
    name: str = Field(default="policy", min_length=1, max_length=200, pattern=r"^[^\x00]+$")
    base_currency: str = Field(pattern=r"^[A-Z]{3}$")
    fallback_approver: Code | None = None
    business_hours: BusinessHoursSpec | None = None
    steps: list[Step] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _step_names_are_unique(self) -> PolicyDocument:
        seen: set[str] = set()
        for step in self.steps:
            if step.name in seen:
                raise ValueError(f"step name {step.name!r} is used twice")
            seen.add(step.name)
        if self.steps[0].parallel_with_previous:
            raise ValueError("the first step cannot run in parallel with a previous one")
        return self


def reference_problems(policy: PolicyDocument, directory: Directory) -> list[tuple[str, str]]:
    """Where the policy names groups or users the directory does not know."""
    problems: list[tuple[str, str]] = []
    groups = directory.groups
    for i, step in enumerate(policy.steps):
        selector = step.approvers
        where = f"steps[{i}].approvers"
        if isinstance(selector, GroupSelector):
            if selector.group not in groups:
                problems.append((f"{where}.group", f"unknown group {selector.group!r}"))
            elif (
                selector.mode == "quorum"
                and selector.quorum
                and selector.quorum > len(directory.members_of(selector.group))
            ):
                problems.append(
                    (f"{where}.quorum", f"group {selector.group!r} has fewer than {selector.quorum} members")
                )
        elif isinstance(selector, UserSelector) and directory.get(selector.user) is None:
            problems.append((f"{where}.user", f"unknown user {selector.user!r}"))
    if policy.fallback_approver and directory.get(policy.fallback_approver) is None:
        problems.append(("fallback_approver", f"unknown user {policy.fallback_approver!r}"))
    return problems


def builtin_policy(*, base_currency: str, head_threshold: Decimal, due_seconds: int) -> PolicyDocument:
    """Used until an admin loads a policy: the requester's manager, plus the department head above a threshold."""
    return PolicyDocument(
        name="built-in default",
        base_currency=base_currency,
        steps=[
            Step(name="manager", approvers=ManagerSelector(kind="manager"), due_seconds=due_seconds),
            Step(
                name="department_head",
                when=Condition(amount_min=head_threshold),
                approvers=DepartmentHeadSelector(kind="department_head"),
                due_seconds=due_seconds,
            ),
        ],
    )
