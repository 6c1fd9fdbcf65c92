"""Use cases driven by purchase-request events: lock the request's hold and its budgets, apply a rule.

``handle`` is the entry of every request event: it applies the event, or holds it back when it was
read before the event it depends on (domain/ordering.py), and then applies every held-back event
that became ready, all in the consumer's transaction, which it commits. The hold it locked and read to
order an event is the one the event's rule applies to (``Step.apply``): one locking read and one sum of
the ledger per event, not two. A use case called without a hold locks and reads it itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import structlog

from backoffice_budgets.domain import ordering
from backoffice_budgets.domain import requests as rules
from backoffice_budgets.domain.holds import NoBudget, Priced, RequestHold, Snapshot
from backoffice_budgets.domain.ledger import BudgetAccount, Cause
from backoffice_budgets.repository.pending import Held
from backoffice_budgets.repository.uow import BudgetsUnitOfWork
from backoffice_common.events import CloudEvent

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Step:
    """One consumed request event, decoded: whose it is, what ordering needs, and how to apply it
    (in the caller's transaction, without committing)."""

    request_id: str
    day: date
    arrival: ordering.Arrival
    apply: Callable[[BudgetsUnitOfWork, RequestHold], Awaitable[str]]


Decode = Callable[[CloudEvent], Step]


async def handle(*, uow: BudgetsUnitOfWork, event: CloudEvent, decode: Decode) -> str:
    """Apply ``event`` now or hold it back; then apply the held-back events it made ready; commit."""
    step = decode(event)
    hold = await uow.holds.lock(step.request_id, period_date=step.day)
    held = await uow.pending.of(step.request_id)
    if any(h.event.id == event.id for h in held):
        await uow.commit()
        return "ignored: held back already"
    steps = {h.seq: decode(h.event) for h in held}
    if why := ordering.waits_for(hold, step.arrival, [steps[h.seq].arrival for h in held]):
        await uow.pending.hold_back(step.request_id, step.arrival.revision, event, why)
        await uow.commit()
        log.info("budgets.event_held_back", request_id=step.request_id, type=event.type, waiting_for=why)
        return f"held back: waiting for {why}"
    outcome = await step.apply(uow, hold)  # nothing changed the locked hold since it was read
    applied = await _drain(uow, step, held, steps)
    await uow.commit()
    return f"{outcome}; then {applied} held-back event(s) applied" if applied else outcome


async def _drain(uow: BudgetsUnitOfWork, step: Step, held: list[Held], steps: dict[int, Step]) -> int:
    """Apply the held-back events that are ready, one at a time, each on the hold as the previous left it
    (read again after each: the rule that applied the previous one saved it and moved the ledger)."""
    remaining = list(held)
    applied = 0
    while remaining:
        hold = await uow.holds.lock(step.request_id, period_date=step.day)
        ready = ordering.next_ready(hold, [steps[h.seq].arrival for h in remaining])
        if ready is None:
            break
        h = next(h for h in remaining if steps[h.seq].arrival is ready)
        outcome = await steps[h.seq].apply(uow, hold)
        await uow.pending.remove(h.seq)
        remaining.remove(h)
        applied += 1
        log.info("budgets.held_back_event_applied", request_id=step.request_id, type=h.event.type, outcome=outcome)
    return applied


async def _accounts(
    uow: BudgetsUnitOfWork,
    hold: RequestHold,
    snapshot: Snapshot | None,
    fx_max_age_days: int = 0,
    on: date | None = None,
) -> tuple[BudgetAccount | None, Priced | NoBudget | None, dict[str, BudgetAccount]]:
    """The budget the hold sits in and, for a revision to price, the budget it falls in now; both locked."""
    target_id: str | None = None
    reason: NoBudget | None = None
    if snapshot is not None:
        cc = await uow.cost_centres.get(snapshot.cost_centre)
        if cc is None or not cc.active:
            reason = NoBudget.UNKNOWN_COST_CENTRE
        else:
            target_id = await uow.budgets.find_for(cc.id, hold.period_date)
            reason = None if target_id else NoBudget.NO_BUDGET_FOR_PERIOD
    accounts = await uow.budgets.lock(i for i in (hold.budget_id, target_id) if i)
    for account in accounts.values():
        uow.track(account)
    current = accounts.get(hold.budget_id) if hold.budget_id else None
    if snapshot is None:
        return current, None, accounts
    if reason is not None or target_id is None:
        return current, reason or NoBudget.NO_BUDGET_FOR_PERIOD, accounts
    return current, await _priced(uow, accounts[target_id], snapshot, on or hold.period_date, fx_max_age_days), accounts


async def _priced(
    uow: BudgetsUnitOfWork, account: BudgetAccount, snapshot: Snapshot, on: date, max_age: int
) -> Priced | NoBudget:
    if not account.is_open:
        return NoBudget.PERIOD_CLOSED
    fx = await uow.rates.rate(snapshot.currency, account.currency, on=on, max_age_days=max_age)
    return Priced(account, fx) if fx is not None else NoBudget.NO_EXCHANGE_RATE


async def _finish(uow: BudgetsUnitOfWork, hold: RequestHold, accounts: dict[str, BudgetAccount]) -> None:
    for account in accounts.values():
        await uow.budgets.save(account)
    await uow.holds.save(hold)
    uow.track(hold)


async def submitted(
    *,
    uow: BudgetsUnitOfWork,
    snapshot: Snapshot,
    cause: Cause,
    submitted_on: date,
    fx_max_age_days: int,
    hold: RequestHold | None = None,
) -> str:
    if hold is None:
        hold = await uow.holds.lock(snapshot.request_id, period_date=submitted_on)
    if reason := rules.ignored(hold, cause, snapshot.revision):
        return reason
    if hold.revision == 0:
        hold.period_date = submitted_on  # the first submission's day, even if a held-back event created the hold
    current, target, accounts = await _accounts(uow, hold, snapshot, fx_max_age_days, submitted_on)
    assert target is not None
    outcome = rules.on_submitted(hold, snapshot, cause, target, current)
    await _finish(uow, hold, accounts)
    return outcome


async def approved(
    *,
    uow: BudgetsUnitOfWork,
    snapshot: Snapshot,
    cause: Cause,
    approved_on: date,
    fx_max_age_days: int,
    hold: RequestHold | None = None,
) -> str:
    if hold is None:
        hold = await uow.holds.lock(snapshot.request_id, period_date=approved_on)
    pricing = rules.needs_pricing(hold, snapshot.revision)
    current, target, accounts = await _accounts(uow, hold, snapshot if pricing else None, fx_max_age_days, approved_on)
    outcome = rules.on_approved(hold, snapshot, cause, target, current)
    await _finish(uow, hold, accounts)
    return outcome


async def released(
    *,
    uow: BudgetsUnitOfWork,
    request_id: str,
    revision: int | None,
    reason: str,
    cause: Cause,
    hold: RequestHold | None = None,
) -> str:
    if hold is None:
        hold = await uow.holds.lock(request_id, period_date=cause.occurred_at.date())
    current, _, accounts = await _accounts(uow, hold, None)
    outcome = rules.on_released(hold, cause, revision=revision, reason=reason, current=current)
    await _finish(uow, hold, accounts)
    return outcome


async def received(
    *,
    uow: BudgetsUnitOfWork,
    request_id: str,
    quantities: dict[int, Decimal],
    cause: Cause,
    hold: RequestHold | None = None,
) -> str:
    if hold is None:
        hold = await uow.holds.lock(request_id, period_date=cause.occurred_at.date())
    current, _, accounts = await _accounts(uow, hold, None)
    outcome = rules.on_receipt(hold, cause, quantities, current)
    await _finish(uow, hold, accounts)
    return outcome


async def closed(
    *, uow: BudgetsUnitOfWork, request_id: str, short: bool, cause: Cause, hold: RequestHold | None = None
) -> str:
    if hold is None:
        hold = await uow.holds.lock(request_id, period_date=cause.occurred_at.date())
    current, _, accounts = await _accounts(uow, hold, None)
    outcome = rules.on_closed(hold, cause, short=short, current=current)
    await _finish(uow, hold, accounts)
    return outcome
