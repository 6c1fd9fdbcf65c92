"""Budgets and their ledgers: the account under a row lock, its movements, read queries and pages.

The event path (``lock``, ``find_for``, ``save``: every priced request event) is raw asyncpg on the
session's connection and transaction (``driver_connection``); the API's reads and pages stay Core."""

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
from backoffice_common.db import driver_connection

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


_LOCK_SQL = "SELECT id FROM budget WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE"
_ACCOUNTS_SQL = (
    "SELECT b.id::text AS id, b.cost_centre_id, b.period, b.currency, b.status, c.name AS cost_centre_name,"
    " c.owner_id, c.owner_name, c.owner_email,"
    " l.budget_after, l.reserved_after, l.committed_after, l.spent_after"
    " FROM budget b JOIN cost_centre c ON c.id = b.cost_centre_id LEFT OUTER JOIN LATERAL"
    " (SELECT m.budget_after, m.reserved_after, m.committed_after, m.spent_after FROM ledger_movement m"
    " WHERE m.budget_id = b.id ORDER BY m.seq DESC LIMIT 1) AS l ON true"
    " WHERE b.id = ANY($1::uuid[])"
)
_FIND_FOR_SQL = "SELECT id::text FROM budget WHERE cost_centre_id = $1 AND period_start <= $2 AND period_end > $2"
_MOVEMENT_COLUMNS = (
    "id, budget_id, kind, amount, delta_budget, delta_reserved, delta_committed, delta_spent, budget_after,"
    " reserved_after, committed_after, spent_after, request_id, revision, cause_event_id, cause_event_type,"
    " occurred_at, source_currency, source_amount, fx_rate, fx_rate_date, reason"
)
_SAVE_SQL = (
    f"INSERT INTO ledger_movement ({_MOVEMENT_COLUMNS}) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[],"  # noqa: S608
    " $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[],"
    " $11::numeric[], $12::numeric[], $13::text[], $14::int[], $15::text[], $16::text[], $17::timestamptz[],"
    " $18::text[], $19::numeric[], $20::numeric[], $21::date[], $22::text[])"
)
"""A request event's movements (one to three) in one prepared statement of column arrays, whatever their count."""


def balances_of(row: Any) -> Balances:
    """The latest movement's balances, in the budget currency's minor units (stored with 6 decimals).

    ``row`` by column name (a SQLAlchemy row's ``_mapping``, an asyncpg record)."""
    if row["budget_after"] is None:
        return Balances(*(quantize(ZERO, row["currency"]) for _ in range(4)))
    values = (row["budget_after"], row["reserved_after"], row["committed_after"], row["spent_after"])
    return Balances(*(quantize(v, row["currency"]) for v in values))


def _account(row: Any) -> BudgetAccount:
    return BudgetAccount(
        id=row["id"],
        cost_centre_id=row["cost_centre_id"],
        period=row["period"],
        currency=row["currency"],
        is_open=row["status"] == "open",
        balances=balances_of(row),
        owner={"id": row["owner_id"], "name": row["owner_name"], "email": row["owner_email"]},
        cost_centre_name=row["cost_centre_name"],
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
        conn = await driver_connection(self.session)
        await conn.execute(_LOCK_SQL, ordered)
        return {row["id"]: _account(row) for row in await conn.fetch(_ACCOUNTS_SQL, ordered)}

    async def find_for(self, cost_centre_id: str, day: date) -> str | None:
        conn = await driver_connection(self.session)
        rows = await conn.fetch(_FIND_FOR_SQL, cost_centre_id, day)
        if len(rows) > 1:  # as SQLAlchemy's scalar_one_or_none: periods of a cost centre do not overlap
            raise LookupError(f"more than one budget of {cost_centre_id} covers {day}")
        return rows[0][0] if rows else None

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
        ms = account.movements
        fx = [m.fx for m in ms]
        conn = await driver_connection(self.session)
        await conn.execute(
            _SAVE_SQL,
            [m.id for m in ms],
            [m.budget_id for m in ms],
            [m.kind.value for m in ms],
            [m.amount for m in ms],
            [m.deltas.budget for m in ms],
            [m.deltas.reserved for m in ms],
            [m.deltas.committed for m in ms],
            [m.deltas.spent for m in ms],
            [m.after.budget for m in ms],
            [m.after.reserved for m in ms],
            [m.after.committed for m in ms],
            [m.after.spent for m in ms],
            [m.request_id for m in ms],
            [m.revision for m in ms],
            [m.cause.event_id for m in ms],
            [m.cause.event_type for m in ms],
            [m.cause.occurred_at for m in ms],
            [f.from_currency if f else None for f in fx],
            [m.source_amount for m in ms],
            [f.rate if f else None for f in fx],
            [f.rate_date if f else None for f in fx],
            [m.reason for m in ms],
        )
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
