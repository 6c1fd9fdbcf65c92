"""Exchange rates: an admin loads a file in the ECB reference-rate CSV format; readers list the rates."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from backoffice_budgets.api.auth import Finance, Reader
from backoffice_budgets.api.common import Uow
from backoffice_budgets.domain.errors import InvalidRates
from backoffice_budgets.domain.money import text
from backoffice_budgets.schemas import RateRead, RatesLoaded
from backoffice_budgets.service import rates as service

router = APIRouter(tags=["rates"])

RATES_PATH = "/admin/rates"


@router.put(
    RATES_PATH,
    response_model=RatesLoaded,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "a file in the ECB reference-rate CSV format (eurofxref.csv or eurofxref-hist.csv)",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def load_rates(request: Request, uow: Uow, user: Finance) -> RatesLoaded:
    """Load (or correct) exchange rates: each (currency, day) in the file replaces the stored one."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "text/plain", "application/octet-stream"):
        raise InvalidRates("send the rate file as text/csv", field="content-type")
    raw = await request.body()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRates("the rate file is not UTF-8 text", field="body") from None
    if "\x00" in content:
        raise InvalidRates("the rate file contains NUL characters", field="body")
    return RatesLoaded(**await service.load(uow=uow, content=content))


@router.get("/rates", response_model=list[RateRead])
async def list_rates(
    uow: Uow,
    user: Reader,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    on_from: Annotated[date | None, Query(alias="from")] = None,
    on_to: Annotated[date | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RateRead]:
    rows = await uow.rates.list(currency=currency, on_from=on_from, on_to=on_to, limit=limit)
    return [RateRead(currency=r.currency, rate_date=r.rate_date, per_eur=text(r.per_eur.normalize())) for r in rows]
