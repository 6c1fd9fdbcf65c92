"""Shared bits of the routers: the unit of work typed as ours, the cause of an HTTP command, cursors, rows -> models."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, cast

import structlog
from fastapi import Depends

from backoffice_budgets.domain.ledger import Balances, Cause, utilisation
from backoffice_budgets.domain.money import minor_units, text
from backoffice_budgets.repository.budgets import balances_of
from backoffice_budgets.repository.uow import BudgetsUnitOfWork
from backoffice_budgets.schemas import BalancesRead, BudgetRead, CausedBy, FxRead, MovementRead
from backoffice_common.deps import UowDep
from backoffice_common.errors import Invalid


async def _ours(uow: UowDep) -> BudgetsUnitOfWork:
    return cast(BudgetsUnitOfWork, uow)


Uow = Annotated[BudgetsUnitOfWork, Depends(_ours)]


def http_cause(action: str) -> Cause:
    """A command from the API, as the cause its movements name (``budgets.<action>`` and a fresh id)."""
    correlation = structlog.contextvars.get_contextvars().get("correlation_id")
    return Cause(str(uuid.uuid4()), f"budgets.{action}", datetime.now(UTC), correlation)


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise Invalid("the cursor is not one this API returned", field="cursor") from None


def balances_read(b: Balances) -> BalancesRead:
    used = utilisation(b)
    percent = None if b.budget <= 0 else text(used.quantize(Decimal("0.01")))
    return BalancesRead(**b.as_dict(), utilisation_percent=percent)


def budget_read(row: Any) -> BudgetRead:
    return BudgetRead(
        id=row.id,
        cost_center=row.cost_centre_id,
        cost_center_name=row.cost_centre_name,
        department=row.department,
        owner={"id": row.owner_id, "name": row.owner_name, "email": row.owner_email},
        period=row.period,
        period_kind=row.period_kind,
        period_start=row.period_start,
        period_end=row.period_end,
        currency=row.currency,
        status=row.status,
        balances=balances_read(balances_of(row._mapping)),
        created_at=row.created_at,
        closed_at=row.closed_at,
    )


def movement_read(row: Any, currency: str) -> MovementRead:
    q = Decimal(1).scaleb(-minor_units(currency))

    def m(v: Decimal) -> str:
        return text(v.quantize(q))

    after = Balances(
        *(v.quantize(q) for v in (row.budget_after, row.reserved_after, row.committed_after, row.spent_after))
    )
    fx = None
    if row.fx_rate is not None:
        fx = FxRead(
            from_currency=row.source_currency,
            to_currency=currency,
            rate=text(row.fx_rate.normalize()),
            rate_date=row.fx_rate_date,
        )
    return MovementRead(
        seq=row.seq,
        id=row.id,
        budget_id=row.budget_id,
        kind=row.kind,
        amount=m(row.amount),
        reserved_delta=m(row.delta_reserved),
        committed_delta=m(row.delta_committed),
        spent_delta=m(row.delta_spent),
        budget_delta=m(row.delta_budget),
        balances=balances_read(after),
        request_id=row.request_id,
        revision=row.revision,
        caused_by=CausedBy(event_id=row.cause_event_id, event_type=row.cause_event_type),
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        source_amount=text(row.source_amount.normalize()) if row.source_amount is not None else None,
        fx=fx,
        reason=row.reason,
    )
