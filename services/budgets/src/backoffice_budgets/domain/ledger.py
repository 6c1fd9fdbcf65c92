"""The ledger of one budget: every movement changes the buckets by signed deltas and names its cause.

Balances are never stored apart from the ledger: each movement carries the balances after it (a
running total, so the latest movement answers "how much is available" without summing the whole
ledger), and they always equal the sum of the deltas of every movement up to it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from backoffice_budgets.domain.fx import FxRate
from backoffice_budgets.domain.money import ZERO, text

THRESHOLDS = (80, 100)
"""Percentages of a budget whose crossing (upwards) is announced to the cost-centre owner."""


class Kind(StrEnum):
    ALLOCATED = "allocated"
    TRANSFERRED_IN = "transferred_in"
    TRANSFERRED_OUT = "transferred_out"
    RESERVED = "reserved"
    COMMITTED = "committed"
    RELEASED = "released"
    SPENT = "spent"


EVENT_OF_KIND = {
    Kind.RESERVED: "budget.reserved",
    Kind.COMMITTED: "budget.committed",
    Kind.RELEASED: "budget.released",
    Kind.SPENT: "budget.spent",
}


@dataclass(frozen=True)
class Deltas:
    budget: Decimal = ZERO
    reserved: Decimal = ZERO
    committed: Decimal = ZERO
    spent: Decimal = ZERO

    @property
    def is_zero(self) -> bool:
        return not (self.budget or self.reserved or self.committed or self.spent)


@dataclass(frozen=True)
class Balances:
    budget: Decimal = ZERO
    reserved: Decimal = ZERO
    committed: Decimal = ZERO
    spent: Decimal = ZERO

    @property
    def used(self) -> Decimal:
        return self.reserved + self.committed + self.spent

    @property
    def available(self) -> Decimal:
        return self.budget - self.used

    def plus(self, d: Deltas) -> Balances:
        return Balances(
            self.budget + d.budget, self.reserved + d.reserved, self.committed + d.committed, self.spent + d.spent
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "budget": text(self.budget),
            "reserved": text(self.reserved),
            "committed": text(self.committed),
            "spent": text(self.spent),
            "available": text(self.available),
        }


def utilisation(b: Balances) -> Decimal:
    """Used share of the budget in percent; a budget of 0 with anything used counts as infinitely used."""
    if b.budget > 0:
        return b.used * 100 / b.budget
    return Decimal("Infinity") if b.used > 0 else ZERO


@dataclass(frozen=True)
class Cause:
    """The event (or command) a movement answers: consumed CloudEvent, transfer or allocation."""

    event_id: str
    event_type: str
    occurred_at: datetime
    correlation_id: str | None = None


@dataclass(frozen=True)
class DomainEvent:
    type: str
    subject: str
    data: dict[str, Any]
    cause: Cause


@dataclass(frozen=True)
class Movement:
    id: str
    budget_id: str
    kind: Kind
    amount: Decimal
    deltas: Deltas
    after: Balances
    cause: Cause
    request_id: str | None = None
    revision: int | None = None
    fx: FxRate | None = None
    source_amount: Decimal | None = None
    reason: str = ""


@dataclass
class BudgetAccount:
    """One budget: its identity, whether its period is open, and its balances (latest movement's)."""

    id: str
    cost_centre_id: str
    period: str
    currency: str
    is_open: bool = True
    balances: Balances = field(default_factory=Balances)
    owner: dict[str, str] = field(default_factory=dict)
    cost_centre_name: str = ""
    movements: list[Movement] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)

    def post(
        self,
        kind: Kind,
        deltas: Deltas,
        cause: Cause,
        *,
        amount: Decimal,
        request_id: str | None = None,
        revision: int | None = None,
        fx: FxRate | None = None,
        source_amount: Decimal | None = None,
        reason: str = "",
    ) -> Movement | None:
        """Append a movement (nothing when every delta is 0) and record its event and any threshold crossed."""
        if deltas.is_zero:
            return None
        before = self.balances
        after = before.plus(deltas)
        movement = Movement(
            str(uuid.uuid4()),
            self.id,
            kind,
            amount,
            deltas,
            after,
            cause,
            request_id,
            revision,
            fx,
            source_amount,
            reason,
        )
        self.movements.append(movement)
        self.balances = after
        if kind in EVENT_OF_KIND and request_id is not None:
            self.events.append(DomainEvent(EVENT_OF_KIND[kind], request_id, self._movement_data(movement), cause))
        for threshold in crossed_thresholds(before, after):
            self.events.append(
                DomainEvent("budget.threshold_crossed", self.id, self._threshold_data(threshold, movement), cause)
            )
        return movement

    def _movement_data(self, m: Movement) -> dict[str, Any]:
        return {
            "request_id": m.request_id,
            "revision": m.revision,
            "movement_id": m.id,
            "budget_id": self.id,
            "cost_center": self.cost_centre_id,
            "period": self.period,
            "currency": self.currency,
            "amount": text(m.amount),
            "reserved_delta": text(m.deltas.reserved),
            "committed_delta": text(m.deltas.committed),
            "spent_delta": text(m.deltas.spent),
            "reason": m.reason,
            "balances": m.after.as_dict(),
            "fx": m.fx.as_dict() if m.fx else None,
            "caused_by": {"event_id": m.cause.event_id, "event_type": m.cause.event_type},
        }

    def _threshold_data(self, threshold: int, m: Movement) -> dict[str, Any]:
        used = utilisation(m.after)
        return {
            "budget_id": self.id,
            "cost_center": self.cost_centre_id,
            "cost_center_name": self.cost_centre_name,
            "owner": self.owner,
            "period": self.period,
            "currency": self.currency,
            "threshold_percent": threshold,
            "utilisation_percent": "Infinity" if not used.is_finite() else text(used.quantize(Decimal("0.01"))),
            "balances": m.after.as_dict(),
            "request_id": m.request_id,
            "caused_by": {"event_id": m.cause.event_id, "event_type": m.cause.event_type},
        }

    def take_events(self) -> list[DomainEvent]:
        events, self.events = self.events, []
        return events

    def snapshot(self) -> BudgetAccount:
        return replace(self, movements=[], events=[])


def crossed_thresholds(before: Balances, after: Balances) -> list[int]:
    """The thresholds the use passed upwards in one movement (none when it fell or stayed)."""
    was, now = utilisation(before), utilisation(after)
    return [t for t in THRESHOLDS if was < t <= now]
