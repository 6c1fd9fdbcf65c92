"""Use cases driven by purchase-request events: lock the request's hold and its budgets, apply a rule, commit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from backoffice_budgets.domain import requests as rules
from backoffice_budgets.domain.holds import NoBudget, Priced, RequestHold, Snapshot
from backoffice_budgets.domain.ledger import BudgetAccount, Cause
from backoffice_budgets.repository.uow import BudgetsUnitOfWork


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
    await uow.commit()


async def submitted(
    *, uow: BudgetsUnitOfWork, snapshot: Snapshot, cause: Cause, submitted_on: date, fx_max_age_days: int
) -> str:
    hold = await uow.holds.lock(snapshot.request_id, period_date=submitted_on)
    if reason := rules.ignored(hold, cause, snapshot.revision):
        await uow.commit()
        return reason
    current, target, accounts = await _accounts(uow, hold, snapshot, fx_max_age_days, submitted_on)
    assert target is not None
    outcome = rules.on_submitted(hold, snapshot, cause, target, current)
    await _finish(uow, hold, accounts)
    return outcome


async def approved(
    *, uow: BudgetsUnitOfWork, snapshot: Snapshot, cause: Cause, approved_on: date, fx_max_age_days: int
) -> str:
    hold = await uow.holds.lock(snapshot.request_id, period_date=approved_on)
    pricing = rules.needs_pricing(hold, snapshot.revision)
    current, target, accounts = await _accounts(uow, hold, snapshot if pricing else None, fx_max_age_days, approved_on)
    outcome = rules.on_approved(hold, snapshot, cause, target, current)
    await _finish(uow, hold, accounts)
    return outcome


async def released(*, uow: BudgetsUnitOfWork, request_id: str, revision: int | None, reason: str, cause: Cause) -> str:
    hold = await uow.holds.lock(request_id, period_date=cause.occurred_at.date())
    current, _, accounts = await _accounts(uow, hold, None)
    outcome = rules.on_released(hold, cause, revision=revision, reason=reason, current=current)
    await _finish(uow, hold, accounts)
    return outcome


async def received(*, uow: BudgetsUnitOfWork, request_id: str, quantities: dict[int, Decimal], cause: Cause) -> str:
    hold = await uow.holds.lock(request_id, period_date=cause.occurred_at.date())
    current, _, accounts = await _accounts(uow, hold, None)
    outcome = rules.on_receipt(hold, cause, quantities, current)
    await _finish(uow, hold, accounts)
    return outcome


async def closed(*, uow: BudgetsUnitOfWork, request_id: str, short: bool, cause: Cause) -> str:
    hold = await uow.holds.lock(request_id, period_date=cause.occurred_at.date())
    current, _, accounts = await _accounts(uow, hold, None)
    outcome = rules.on_closed(hold, cause, short=short, current=current)
    await _finish(uow, hold, accounts)
    return outcome
