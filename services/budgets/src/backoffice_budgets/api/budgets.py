"""Budgets and their ledgers: allocate, close, list with filters and pages, the ledger as JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from backoffice_budgets.api.auth import Finance, Reader
from backoffice_budgets.api.common import Uow, budget_read, decode_cursor, encode_cursor, http_cause, movement_read
from backoffice_budgets.domain.ledger import Kind
from backoffice_budgets.schemas import BudgetCreate, BudgetPage, BudgetRead, LedgerPage, MovementRead
from backoffice_budgets.service import budgets as service
from backoffice_common.errors import Invalid, NotFound
from backoffice_common.openapi import problem_responses

router = APIRouter(prefix="/budgets", tags=["budgets"])

Limit = Annotated[int, Query(ge=1, le=100)]
Text = Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]+$")]


async def _budget(uow: Uow, budget_id: UUID) -> BudgetRead:
    row = await uow.budgets.read(str(budget_id))
    if row is None:
        raise NotFound(f"budget {budget_id} does not exist")
    return budget_read(row)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=BudgetRead,
    responses=problem_responses(409, s409="Conflict: the cost centre has a budget overlapping the period"),
)
async def create_budget(body: BudgetCreate, uow: Uow, user: Finance, response: Response) -> BudgetRead:
    budget_id = await service.create(
        uow=uow,
        cost_centre_id=body.cost_center,
        period=body.period,
        currency=body.currency,
        amount=body.amount,
        user=user,
        cause=http_cause("budget_allocated"),
    )
    response.headers["Location"] = f"/budgets/{budget_id}"
    return await _budget(uow, UUID(budget_id))


@router.get("", response_model=BudgetPage)
async def list_budgets(
    uow: Uow,
    user: Reader,
    cost_center: Text = None,
    period: Annotated[str | None, Query(pattern=r"^\d{4}(-(\d{2}|Q[1-4]))?$")] = None,
    status: Literal["open", "closed"] | None = None,
    department: Text = None,
    on: date | None = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_-]+$")] = None,
) -> BudgetPage:
    after = None
    if cursor:
        value = decode_cursor(cursor)
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
            raise Invalid("the cursor is not one this API returned", field="cursor")
        after = (value[0], value[1])
    rows = await uow.budgets.page(
        cost_centre_id=cost_center,
        period=period,
        status=status,
        department=department,
        on=on,
        after=after,
        limit=limit + 1,
    )
    items = [budget_read(r) for r in rows[:limit]]
    more = len(rows) > limit
    return BudgetPage(items=items, next_cursor=encode_cursor([items[-1].cost_center, items[-1].id]) if more else None)


@router.get("/{budget_id}", response_model=BudgetRead)
async def get_budget(budget_id: UUID, uow: Uow, user: Reader) -> BudgetRead:
    return await _budget(uow, budget_id)


@router.post("/{budget_id}/close", response_model=BudgetRead, responses=problem_responses(409))
async def close_budget(budget_id: UUID, uow: Uow, user: Finance) -> BudgetRead:
    """Close the budget's period: no new requests are priced in it and no money moves in or out by transfer;
    requests already holding money in it still commit, spend and release."""
    await service.close(uow=uow, budget_id=str(budget_id), user=user, cause=http_cause("period_closed"))
    return await _budget(uow, budget_id)


@router.get("/{budget_id}/ledger", response_model=LedgerPage)
async def ledger(
    budget_id: UUID,
    uow: Uow,
    user: Reader,
    kind: Kind | None = None,
    request_id: Text = None,
    limit: Limit = 100,
    cursor: Annotated[str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_-]+$")] = None,
) -> LedgerPage:
    budget = await _budget(uow, budget_id)
    after = None
    if cursor:
        after = decode_cursor(cursor)
        if not isinstance(after, int) or isinstance(after, bool):
            raise Invalid("the cursor is not one this API returned", field="cursor")
    rows = await uow.budgets.ledger(
        str(budget_id), kind=kind.value if kind else None, request_id=request_id, after_seq=after, limit=limit + 1
    )
    items = [movement_read(r, budget.currency) for r in rows[:limit]]
    return LedgerPage(items=items, next_cursor=encode_cursor(items[-1].seq) if len(rows) > limit else None)


CSV_COLUMNS = [
    "seq", "id", "kind", "amount", "budget_delta", "reserved_delta", "committed_delta", "spent_delta",
    "budget", "reserved", "committed", "spent", "available", "request_id", "revision",
    "cause_event_type", "cause_event_id", "occurred_at", "recorded_at", "source_currency", "source_amount",
    "fx_rate", "fx_rate_date", "reason",
]  # fmt: skip


@router.get(
    "/{budget_id}/ledger.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "the whole ledger"}},
)
async def ledger_csv(
    budget_id: UUID, uow: Uow, user: Reader, kind: Kind | None = None, request_id: Text = None
) -> Response:
    """The budget's whole ledger (with the same filters) as CSV, one movement a row, oldest first."""
    budget = await _budget(uow, budget_id)
    rows = await uow.budgets.ledger(str(budget_id), kind=kind.value if kind else None, request_id=request_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        m: MovementRead = movement_read(row, budget.currency)
        writer.writerow(
            [
                m.seq, m.id, m.kind, m.amount, m.budget_delta, m.reserved_delta, m.committed_delta, m.spent_delta,
                m.balances.budget, m.balances.reserved, m.balances.committed, m.balances.spent, m.balances.available,
                m.request_id or "", m.revision if m.revision is not None else "",
                m.caused_by.event_type, m.caused_by.event_id, m.occurred_at.isoformat(), m.recorded_at.isoformat(),
                m.fx.from_currency if m.fx else "", m.source_amount or "", m.fx.rate if m.fx else "",
                m.fx.rate_date.isoformat() if m.fx and m.fx.rate_date else "", _csv_safe(m.reason),
            ]
        )  # fmt: skip
    filename = f"ledger-{budget.cost_center}-{budget.period}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _csv_safe(value: str) -> str:
    """Text a spreadsheet will not run as a formula (transfer reasons are typed by people)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
