"""Cost centres: who owns the money of a part of the company. Each change is published (compacted topic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from backoffice_budgets.domain.ledger import Cause, DomainEvent


@dataclass
class CostCentre:
    id: str
    name: str
    owner: dict[str, str]
    """``{"id", "name", "email"}``: who is told when the budgets pass 80 % and 100 %."""
    department: str
    active: bool = True
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    events: list[DomainEvent] = field(default_factory=list)

    def change(self, *, name: str, owner: dict[str, str], department: str, active: bool, cause: Cause) -> None:
        if (self.name, self.owner, self.department, self.active) == (name, owner, department, active):
            return
        self.name, self.owner, self.department, self.active = name, owner, department, active
        self.announce(cause)

    def announce(self, cause: Cause) -> None:
        self.updated_at = cause.occurred_at
        self.events.append(DomainEvent("cost_centre.updated", self.id, self.record(), cause))

    def record(self) -> dict[str, Any]:
        return {
            "cost_center": self.id,
            "name": self.name,
            "owner": self.owner,
            "department": self.department,
            "active": self.active,
            "updated_at": self.updated_at.isoformat(),
        }

    def take_events(self) -> list[DomainEvent]:
        events, self.events = self.events, []
        return events
