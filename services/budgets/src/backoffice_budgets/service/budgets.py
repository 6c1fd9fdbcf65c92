"""Budget use cases: allocate a budget for a period, move money between budgets, close a period."""

from __future__ import annotations

import uuid
from decimal import Decimal

from backoffice_budgets.domain import money
from backoffice_budgets.domain.errors import BudgetClosed, InsufficientFunds, InvalidBudget, PeriodOverlap
from backoffice_budgets.domain.ledger import Cause, Deltas, Kind
from backoffice_budgets.domain.periods import FiscalPeriod
from backoffice_budgets.repository.uow import BudgetsUnitOfWork
from backoffice_common.auth import User
from backoffice_common.errors import NotFound


async def create(
    *, uow: BudgetsUnitOfWork, cost_centre_id: str, period: str, currency: str, amount: str, user: User, cause: Cause
) -> str:
    fiscal = FiscalPeriod.parse(period)
    code = money.currency(currency)
    allocated = money.amount(amount, code, positive=False)
    cc = await uow.cost_centres.get(cost_centre_id, lock=True)
    if cc is None:
        raise InvalidBudget(f"cost centre {cost_centre_id} does not exist", field="cost_center")
    if clash := await uow.budgets.overlapping(cost_centre_id, fiscal):
        raise PeriodOverlap(
            f"cost centre {cost_centre_id} has a budget for {clash} already, which overlaps {fiscal.label}",
            overlapping_period=clash,
        )
    budget_id = str(uuid.uuid4())
    await uow.budgets.add(
        budget_id=budget_id, cost_centre_id=cost_centre_id, period=fiscal, currency=code, created_by=user.sub
    )
    account = (await uow.budgets.lock([budget_id]))[budget_id]
    account.post(Kind.ALLOCATED, Deltas(budget=allocated), cause, amount=allocated, reason="allocated")
    await uow.budgets.save(account)
    uow.track(account)
    await uow.commit()
    return budget_id


async def close(*, uow: BudgetsUnitOfWork, budget_id: str, user: User, cause: Cause) -> None:
    accounts = await uow.budgets.lock([budget_id])
    if budget_id not in accounts:
        raise NotFound(f"budget {budget_id} does not exist")
    if not accounts[budget_id].is_open:
        raise BudgetClosed(f"the period {accounts[budget_id].period} of this budget is closed already")
    await uow.budgets.close(budget_id, by=user.sub, at=cause.occurred_at)
    await uow.commit()


async def transfer(
    *, uow: BudgetsUnitOfWork, source: str, target: str, amount: str, reason: str, user: User, cause: Cause
) -> str:
    if source == target:
        raise InvalidBudget("a transfer moves money between two different budgets", field="to_budget_id")
    accounts = await uow.budgets.lock([source, target])
    for name, bid in (("from_budget_id", source), ("to_budget_id", target)):
        if bid not in accounts:
            raise InvalidBudget(f"budget {bid} does not exist", field=name)
        if not accounts[bid].is_open:
            raise BudgetClosed(f"the period {accounts[bid].period} of budget {bid} is closed", budget_id=bid)
    src, dst = accounts[source], accounts[target]
    if src.currency != dst.currency:
        raise InvalidBudget(
            f"both budgets must be in one currency ({src.currency} and {dst.currency} differ)", field="to_budget_id"
        )
    moved: Decimal = money.amount(amount, src.currency)
    if moved > src.balances.available:
        raise InsufficientFunds(
            f"budget {source} has {money.text(src.balances.available)} {src.currency} available, "
            f"less than the {money.text(moved)} asked for",
            available=money.text(src.balances.available),
        )
    src.post(Kind.TRANSFERRED_OUT, Deltas(budget=-moved), cause, amount=moved, reason=reason[:200])
    dst.post(Kind.TRANSFERRED_IN, Deltas(budget=moved), cause, amount=moved, reason=reason[:200])
    await uow.transfers.add(
        transfer_id=cause.event_id,
        source=source,
        target=target,
        amount=moved,
        currency=src.currency,
        reason=reason,
        actor=user.sub,
    )
    for account in (src, dst):
        await uow.budgets.save(account)
        uow.track(account)
    await uow.commit()
    return cause.event_id
