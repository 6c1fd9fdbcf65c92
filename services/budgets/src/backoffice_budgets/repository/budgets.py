"""Budgets and their ledgers: the account under a row lock, its movements, read queries and pages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_budgets.domain.ledger import Balances, BudgetAccount
from backoffice_budgets.domain.money import ZERO, quantize
from backoffice_budgets.domain.periods import FiscalPeriod
from backoffice_budgets.models import budget, cost_centre, ledger_movement

_LATEST = (
    select(
        ledger_movement.c.budget_after,
        ledger_movement.c.reserved_after,
        ledger_movement.c.committed_after,
        ledger_movement.c.spent_after,
    )
    .where(ledger_movement.c.budget_id == budget.c.id)
    .order_by(ledger_movement.c.seq.desc())
    .limit(1)
    .lateral("latest")
)

BUDGET_COLUMNS = (
    budget,
    cost_centre.c.name.label("cost_centre_name"),
    cost_centre.c.owner_id,
    cost_centre.c.owner_name,
    cost_centre.c.owner_email,
    cost_centre.c.department,
    _LATEST.c.budget_after,
    _LATEST.c.reserved_after,
    _LATEST.c.committed_after,
    _LATEST.c.spent_after,
)


def _with_balances() -> Any:
    return (
        select(*BUDGET_COLUMNS)
        .join(cost_centre, cost_centre.c.id == budget.c.cost_centre_id)
        .outerjoin(_LATEST, true())
    )


def balances_of(row: Any) -> Balances:
    """The latest movement's balances, in the budget currency's minor units (stored with 6 decimals)."""
    if row.budget_after is None:
        return Balances(*(quantize(ZERO, row.currency) for _ in range(4)))
    values = (row.budget_after, row.reserved_after, row.committed_after, row.spent_after)
    return Balances(*(quantize(v, row.currency) for v in values))


def _account(row: Any) -> BudgetAccount:
    return BudgetAccount(
        id=row.id,
        cost_centre_id=row.cost_centre_id,
        period=row.period,
        currency=row.currency,
        is_open=row.status == "open",
        balances=balances_of(row),
        owner={"id": row.owner_id, "name": row.owner_name, "email": row.owner_email},
        cost_centre_name=row.cost_centre_name,
    )


class BudgetRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, ids: Iterable[str]) -> dict[str, BudgetAccount]:
        """The accounts, each budget row locked in id order (so two writers never deadlock), then their
        balances read: after the lock, so a writer that committed meanwhile is seen."""
        ordered = sorted(set(ids))
        if not ordered:
            return {}
        await self.session.execute(
            select(budget.c.id).where(budget.c.id.in_(ordered)).order_by(budget.c.id).with_for_update()
        )
        rows = (await self.session.execute(_with_balances().where(budget.c.id.in_(ordered)))).all()
        return {row.id: _account(row) for row in rows}

    async def find_for(self, cost_centre_id: str, day: date) -> str | None:
        stmt = select(budget.c.id).where(
            budget.c.cost_centre_id == cost_centre_id, budget.c.period_start <= day, budget.c.period_end > day
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def overlapping(self, cost_centre_id: str, period: FiscalPeriod) -> str | None:
        stmt = select(budget.c.period).where(
            budget.c.cost_centre_id == cost_centre_id,
            budget.c.period_start < period.end,
            budget.c.period_end > period.start,
        )
        return (await self.session.execute(stmt.limit(1))).scalar_one_or_none()

    async def add(
        self, *, budget_id: str, cost_centre_id: str, period: FiscalPeriod, currency: str, created_by: str
    ) -> None:
        await self.session.execute(
            insert(budget).values(
                id=budget_id,
                cost_centre_id=cost_centre_id,
                period=period.label,
                period_kind=period.kind.value,
                period_start=period.start,
                period_end=period.end,
                currency=currency,
                status="open",
                created_by=created_by,
            )
        )

    async def close(self, budget_id: str, *, by: str, at: datetime) -> None:
        await self.session.execute(
            update(budget).where(budget.c.id == budget_id).values(status="closed", closed_by=by, closed_at=at)
        )

    async def save(self, account: BudgetAccount) -> None:
        """Append the account's new movements to the ledger."""
        if not account.movements:
            return
        rows = [
            {
                "id": m.id,
                "budget_id": m.budget_id,
                "kind": m.kind.value,
                "amount": m.amount,
                "delta_budget": m.deltas.budget,
                "delta_reserved": m.deltas.reserved,
                "delta_committed": m.deltas.committed,
                "delta_spent": m.deltas.spent,
                "budget_after": m.after.budget,
                "reserved_after": m.after.reserved,
                "committed_after": m.after.committed,
                "spent_after": m.after.spent,
                "request_id": m.request_id,
                "revision": m.revision,
                "cause_event_id": m.cause.event_id,
                "cause_event_type": m.cause.event_type,
                "occurred_at": m.cause.occurred_at,
                "source_currency": m.fx.from_currency if m.fx else None,
                "source_amount": m.source_amount,
                "fx_rate": m.fx.rate if m.fx else None,
                "fx_rate_date": m.fx.rate_date if m.fx else None,
                "reason": m.reason,
            }
            for m in account.movements
        ]
        await self.session.execute(insert(ledger_movement), rows)
        account.movements = []

    async def read(self, budget_id: str) -> Any | None:
        return (await self.session.execute(_with_balances().where(budget.c.id == budget_id))).first()

    async def page(
        self,
        *,
        cost_centre_id: str | None,
        period: str | None,
        status: str | None,
        department: str | None,
        on: date | None,
        after: tuple[str, str] | None,
        limit: int,
    ) -> Sequence[Any]:
        stmt = _with_balances()
        if cost_centre_id is not None:
            stmt = stmt.where(budget.c.cost_centre_id == cost_centre_id)
        if period is not None:
            stmt = stmt.where(budget.c.period == period)
        if status is not None:
            stmt = stmt.where(budget.c.status == status)
        if department is not None:
            stmt = stmt.where(cost_centre.c.department == department)
        if on is not None:
            stmt = stmt.where(budget.c.period_start <= on, budget.c.period_end > on)
        if after is not None:
            cc, bid = after
            stmt = stmt.where(or_(budget.c.cost_centre_id > cc, and_(budget.c.cost_centre_id == cc, budget.c.id > bid)))
        stmt = stmt.order_by(budget.c.cost_centre_id, budget.c.id).limit(limit)
        return (await self.session.execute(stmt)).all()

    async def ledger(
        self,
        budget_id: str,
        *,
        kind: str | None = None,
        request_id: str | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
    ) -> Sequence[Any]:
        stmt = select(ledger_movement).where(ledger_movement.c.budget_id == budget_id)
        if kind is not None:
            stmt = stmt.where(ledger_movement.c.kind == kind)
        if request_id is not None:
            stmt = stmt.where(ledger_movement.c.request_id == request_id)
        if after_seq is not None:
            stmt = stmt.where(ledger_movement.c.seq > after_seq)
        stmt = stmt.order_by(ledger_movement.c.seq)
        if limit is not None:
            stmt = stmt.limit(limit)
        return (await self.session.execute(stmt)).all()
