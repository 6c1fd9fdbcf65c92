"""The exchange-rate table used to report spend in one currency (events carry none)."""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter

from backoffice_common.app import UowDep
from backoffice_insights.api.deps import Admin, InsightsSettings, Reader
from backoffice_insights.repository import reports
from backoffice_insights.schemas import RatesRead, RatesUpdate
from backoffice_insights.service.rates import load_rates
from backoffice_insights.service.uow import InsightsUnitOfWork

router = APIRouter(prefix="/insights", tags=["insights"])


@router.get("/fx-rates", response_model=RatesRead)
async def get_rates(uow: UowDep, _: Reader, settings: InsightsSettings) -> Any:
    return RatesRead(reporting_currency=settings.reporting_currency, rates=await reports.rates(uow.session))  # type: ignore[arg-type]


@router.put("/admin/fx-rates", response_model=RatesRead)
async def put_rates(body: RatesUpdate, uow: UowDep, user: Admin, settings: InsightsSettings) -> Any:
    """Replace the whole table: each rate applies from `valid_from` until the next one of its currency."""
    rates = [(r.currency, r.valid_from, r.rate) for r in body.rates]
    await load_rates(
        uow=cast(InsightsUnitOfWork, uow),
        rates=rates,
        reporting_currency=settings.reporting_currency,
        loaded_by=user.sub,
    )
    return RatesRead(reporting_currency=settings.reporting_currency, rates=body.rates)
