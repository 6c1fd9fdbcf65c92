"""What each purchase-request event does to the money a request holds in a budget.

A request holds money in at most one budget at a time (its cost centre's budget for the period of
its first submission). Its hold remembers the revision it was last priced at, the rate used and
the unit prices (receipts carry quantities only). The amounts it holds are the sums of its own
movements; ``applied`` is the set of events that already moved its money, so a redelivered event
moves nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from backoffice_budgets.domain.fx import FxRate
from backoffice_budgets.domain.ledger import BudgetAccount, Cause, Deltas, DomainEvent, Kind
from backoffice_budgets.domain.money import ZERO, quantize, text


class HoldState(StrEnum):
    RESERVED = "reserved"
    COMMITTED = "committed"
    CLOSED = "closed"


class CheckStatus(StrEnum):
    WITHIN = "within_budget"
    OVER = "over_budget"
    NO_BUDGET = "no_budget"


class NoBudget(StrEnum):
    UNKNOWN_COST_CENTRE = "unknown_cost_centre"
    NO_BUDGET_FOR_PERIOD = "no_budget_for_period"
    PERIOD_CLOSED = "period_closed"
    NO_EXCHANGE_RATE = "no_exchange_rate"


@dataclass(frozen=True)
class Snapshot:
    """The parts of a RequestSnapshot that matter to money."""

    request_id: str
    revision: int
    cost_centre: str
    currency: str
    total: Decimal
    unit_prices: dict[int, Decimal]


@dataclass(frozen=True)
class Priced:
    """The budget a revision falls in, with the rate from the request's currency into the budget's."""

    account: BudgetAccount
    fx: FxRate


@dataclass
class RequestHold:
    request_id: str
    period_date: date
    revision: int = 0
    state: HoldState = HoldState.RESERVED
    budget_id: str | None = None
    cost_centre: str = ""
    request_currency: str = ""
    fx: FxRate | None = None
    unit_prices: dict[int, Decimal] = field(default_factory=dict)
    reserved: Decimal = ZERO
    committed: Decimal = ZERO
    spent: Decimal = ZERO
    applied: set[str] = field(default_factory=set)
    events: list[DomainEvent] = field(default_factory=list)

    @property
    def is_closed(self) -> bool:
        return self.state is HoldState.CLOSED

    def _post(self, account: BudgetAccount, kind: Kind, deltas: Deltas, cause: Cause, **extra: Any) -> None:
        amount = extra.pop("amount", None)
        if amount is None:
            amount = (
                abs(deltas.reserved + deltas.committed)
                if kind is Kind.RELEASED
                else abs(deltas.reserved or deltas.spent)
            )
        moved = account.post(
            kind, deltas, cause, amount=amount, request_id=self.request_id, revision=self.revision, **extra
        )
        if moved is not None:
            self.reserved += deltas.reserved
            self.committed += deltas.committed
            self.spent += deltas.spent
            self.applied.add(cause.event_id)

    def price(self, snapshot: Snapshot, cause: Cause, target: Priced | NoBudget, current: BudgetAccount | None) -> None:
        """Reserve a (new) revision's total and record its ``budget.checked``.

        The request's own earlier reservation in the same budget counts as available to it, so a
        revision that lowers the total is always within what the first was. Over budget still
        reserves: the check tells approvals, it does not refuse the request.
        """
        self.revision = snapshot.revision
        self.cost_centre = snapshot.cost_centre
        self.request_currency = snapshot.currency
        self.unit_prices = dict(snapshot.unit_prices)
        same = isinstance(target, Priced) and current is not None and current.id == target.account.id
        if current is not None and not same:
            reason = "cost_center_changed" if isinstance(target, Priced) else "no_budget"
            self.release(current, cause, reason=reason, close=False)
            self.spent = ZERO  # what was spent stays in the old budget's ledger
        if not isinstance(target, Priced):
            self.budget_id, self.fx = None, None
            self._checked(snapshot, cause, CheckStatus.NO_BUDGET, reason=target.value)
            return
        account, fx = target.account, target.fx
        amount = fx.convert(snapshot.total)
        own = self.reserved if same else ZERO
        available = account.balances.available + own
        self.budget_id, self.fx = account.id, fx
        delta = amount - own
        kind = Kind.RESERVED if delta > 0 else Kind.RELEASED
        reason = "submitted" if delta > 0 else "revision_lowered"
        self._post(account, kind, Deltas(reserved=delta), cause, fx=fx, source_amount=snapshot.total, reason=reason)
        status = CheckStatus.WITHIN if amount <= available else CheckStatus.OVER
        self._checked(snapshot, cause, status, account=account, fx=fx, amount=amount, available_before=available)

    def commit(self, account: BudgetAccount, cause: Cause) -> None:
        """Approval: what the revision reserved becomes committed."""
        self.state = HoldState.COMMITTED
        self._post(
            account,
            Kind.COMMITTED,
            Deltas(reserved=-self.reserved, committed=self.reserved),
            cause,
            amount=self.reserved,
        )

    def release(self, account: BudgetAccount, cause: Cause, *, reason: str, close: bool = True) -> None:
        """Give back everything reserved or committed (not what was spent)."""
        deltas = Deltas(reserved=-self.reserved, committed=-self.committed)
        self._post(account, Kind.RELEASED, deltas, cause, reason=reason)
        if close:
            self.state = HoldState.CLOSED

    def spend(self, account: BudgetAccount, cause: Cause, received: dict[int, Decimal]) -> Decimal:
        """A receipt: the received value, at the unit prices and rate of the priced revision, becomes spent.

        It comes out of the commitment first, then out of a reservation (a receipt that overtook its
        approval); beyond both it is spent all the same, so the ledger shows the overrun.
        """
        fx = self.fx or FxRate.identity(account.currency)
        value = quantize(
            sum((qty * self.unit_prices.get(line, ZERO) for line, qty in received.items()), ZERO), self.request_currency
        )
        spent = fx.convert(value)
        from_committed = min(spent, self.committed)
        from_reserved = min(spent - from_committed, self.reserved)
        deltas = Deltas(reserved=-from_reserved, committed=-from_committed, spent=spent)
        self._post(account, Kind.SPENT, deltas, cause, amount=spent, fx=fx, source_amount=value, reason="received")
        return spent

    def _checked(
        self,
        snapshot: Snapshot,
        cause: Cause,
        status: CheckStatus,
        *,
        reason: str = "",
        account: BudgetAccount | None = None,
        fx: FxRate | None = None,
        amount: Decimal | None = None,
        available_before: Decimal | None = None,
    ) -> None:
        over_by = (
            (amount - available_before)
            if status is CheckStatus.OVER and amount is not None and available_before is not None
            else ZERO
        )
        data: dict[str, Any] = {
            "request_id": self.request_id,
            "revision": snapshot.revision,
            "status": status.value,
            "reason": reason,
            "cost_center": snapshot.cost_centre,
            "request_currency": snapshot.currency,
            "request_total": text(snapshot.total),
            "budget_id": account.id if account else None,
            "period": account.period if account else None,
            "currency": account.currency if account else None,
            "amount": text(amount) if amount is not None else None,
            "available_before": text(available_before) if available_before is not None else None,
            "available_after": text(account.balances.available) if account else None,
            "over_by": text(over_by) if account else None,
            "fx": fx.as_dict() if fx else None,
            "owner": account.owner if account else None,
        }
        self.events.append(DomainEvent("budget.checked", self.request_id, data, cause))

    def take_events(self) -> list[DomainEvent]:
        events, self.events = self.events, []
        return events
