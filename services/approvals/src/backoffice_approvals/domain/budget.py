"""What approvals knows of a revision's budget check (``budget.checked`` of the budgets service)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from backoffice_approvals.domain.people import Person

BudgetStatus = Literal["within_budget", "over_budget", "no_budget"]
BUDGET_STATUSES: tuple[BudgetStatus, ...] = ("within_budget", "over_budget", "no_budget")

NOT_CHECKED = "not_checked"
"""The reason of the fallback check: no ``budget.checked`` of the revision arrived in time."""


@dataclass(frozen=True)
class BudgetCheck:
    status: BudgetStatus
    reason: str = ""
    over_by: str | None = None
    currency: str | None = None
    owner: Person | None = None

    @classmethod
    def fallback(cls, reason: str = NOT_CHECKED) -> BudgetCheck:
        """The documented fallback when no check is known: treated as ``no_budget``."""
        return cls(status="no_budget", reason=reason)

    @property
    def is_fallback(self) -> bool:
        return self.reason == NOT_CHECKED

    def describe(self) -> str:
        if self.status == "over_budget":
            return f"budget check: over_budget by {self.over_by} {self.currency}"
        if self.status == "no_budget":
            return f"budget check: no_budget ({self.reason or 'no reason given'})"
        return "budget check: within_budget"

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "over_by": self.over_by,
            "currency": self.currency,
            "owner": self.owner.as_dict() if self.owner else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BudgetCheck:
        owner = data.get("owner")
        return cls(
            status=data["status"],
            reason=str(data.get("reason") or ""),
            over_by=data.get("over_by"),
            currency=data.get("currency"),
            owner=Person.from_dict(owner) if owner else None,
        )
