"""An in-memory driver of the pure ledger rules, doing what the use cases do with the database."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from backoffice_budgets.domain import ordering
from backoffice_budgets.domain import requests as rules
from backoffice_budgets.domain.fx import FxRate
from backoffice_budgets.domain.holds import NoBudget, Priced, RequestHold, Snapshot
from backoffice_budgets.domain.ledger import BudgetAccount, Cause, Deltas, DomainEvent, Kind, Movement

DAY = date(2026, 11, 2)


def cause(event_type: str, event_id: str | None = None) -> Cause:
    return Cause(event_id or str(uuid.uuid4()), event_type, datetime(2026, 11, 2, 9, tzinfo=UTC))


def snapshot(
    request_id: str, revision: int, total: str, *, cost_centre: str = "CC-1", currency: str = "EUR"
) -> Snapshot:
    return Snapshot(request_id, revision, cost_centre, currency, Decimal(total), {1: Decimal(total)})


@dataclass
class Books:
    """Budgets by cost centre (one each), holds by request, every movement and event ever posted."""

    budgets: dict[str, BudgetAccount] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    holds: dict[str, RequestHold] = field(default_factory=dict)
    movements: list[Movement] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)
    fx: dict[str, FxRate] = field(default_factory=dict)

    def open_budget(self, cost_centre: str, amount: str, currency: str = "EUR") -> BudgetAccount:
        account = BudgetAccount(f"B-{cost_centre}", cost_centre, "2026-11", currency, owner={"id": "olga"})
        account.post(
            Kind.ALLOCATED, Deltas(budget=Decimal(amount)), cause("budgets.budget_allocated"), amount=Decimal(amount)
        )
        self.budgets[cost_centre] = account
        self._collect()
        return account

    def _collect(self) -> None:
        for account in self.budgets.values():
            self.movements += account.movements
            account.movements = []
            self.events += account.take_events()
        for hold in self.holds.values():
            self.events += hold.take_events()

    def _hold(self, request_id: str) -> RequestHold:
        return self.holds.setdefault(request_id, RequestHold(request_id, DAY))

    def _current(self, hold: RequestHold) -> BudgetAccount | None:
        return next((a for a in self.budgets.values() if a.id == hold.budget_id), None)

    def _target(self, snap: Snapshot) -> Priced | NoBudget:
        account = self.budgets.get(snap.cost_centre)
        if account is None:
            return NoBudget.UNKNOWN_COST_CENTRE
        if account.cost_centre_id in self.closed:
            return NoBudget.PERIOD_CLOSED
        if snap.currency == account.currency:
            return Priced(account, FxRate.identity(account.currency))
        fx = self.fx.get(snap.currency)
        return Priced(account, fx) if fx else NoBudget.NO_EXCHANGE_RATE

    def submitted(self, snap: Snapshot, c: Cause | None = None) -> str:
        hold = self._hold(snap.request_id)
        out = rules.on_submitted(
            hold, snap, c or cause("purchase_request.submitted"), self._target(snap), self._current(hold)
        )
        self._collect()
        return out

    def approved(self, snap: Snapshot, c: Cause | None = None) -> str:
        hold = self._hold(snap.request_id)
        target = self._target(snap) if rules.needs_pricing(hold, snap.revision) else None
        out = rules.on_approved(hold, snap, c or cause("purchase_request.approved"), target, self._current(hold))
        self._collect()
        return out

    def released(self, request_id: str, reason: str, revision: int | None = None, c: Cause | None = None) -> str:
        hold = self._hold(request_id)
        out = rules.on_released(
            hold,
            c or cause(f"purchase_request.{reason}"),
            revision=revision,
            reason=reason,
            current=self._current(hold),
        )
        self._collect()
        return out

    def received(self, request_id: str, quantities: dict[int, Decimal], c: Cause | None = None) -> str:
        hold = self._hold(request_id)
        out = rules.on_receipt(hold, c or cause("purchase_request.receipt_confirmed"), quantities, self._current(hold))
        self._collect()
        return out

    def closed_order(self, request_id: str, short: bool, c: Cause | None = None) -> str:
        hold = self._hold(request_id)
        out = rules.on_closed(hold, c or cause("purchase_request.closed"), short=short, current=self._current(hold))
        self._collect()
        return out

    def of_type(self, event_type: str) -> list[DomainEvent]:
        return [e for e in self.events if e.type == event_type]


@dataclass
class Sequenced(Books):
    """Books fed through the ordering rule as the service does: an event read before its dependency is
    held back (per request, in arrival order) and applied once it is ready."""

    pending: dict[str, list[tuple[ordering.Arrival, Callable[[], str]]]] = field(default_factory=dict)
    held_back: int = 0

    def deliver(self, request_id: str, arrival: ordering.Arrival, apply: Callable[[], str]) -> str:
        hold = self._hold(request_id)
        queue = self.pending.setdefault(request_id, [])
        if any(a.event_id == arrival.event_id for a, _ in queue):
            return "ignored: held back already"
        if why := ordering.waits_for(hold, arrival, [a for a, _ in queue]):
            queue.append((arrival, apply))
            self.held_back += 1
            return f"held back: waiting for {why}"
        outcome = apply()
        while (ready := ordering.next_ready(hold, [a for a, _ in queue])) is not None:
            index = next(i for i, (a, _) in enumerate(queue) if a is ready)
            queue.pop(index)[1]()
        return outcome

    def waiting(self) -> int:
        return sum(len(q) for q in self.pending.values())
