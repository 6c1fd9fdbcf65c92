"""A planned chain: its steps with approvers and reasons, and what an earlier revision approved."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from backoffice_approvals.domain.people import Person


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
