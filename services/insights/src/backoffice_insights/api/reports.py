"""Cycle times, bottlenecks, SLA and spend: procurement and admin read everything here."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from backoffice_common.app import UowDep
from backoffice_common.strings import NUL_FREE_NONEMPTY
from backoffice_insights.api.deps import AsOf, InsightsSettings, Reader, ScopeDep
from backoffice_insights.api.export import CSV_RESPONSE, Format, csv_response
from backoffice_insights.domain.errors import UnknownRequest
from backoffice_insights.domain.spend import in_reporting_currency
from backoffice_insights.repository import reports
from backoffice_insights.schemas import (
    ApproversRead,
    CycleTimesRead,
    FailedDeliveriesRead,
    OpenRequestsRead,
    RequestInsightRead,
    RevisionsRead,
    SpendRead,
    StageSharesRead,
    TaskSlaRead,
    VendorsRead,
)

router = APIRouter(prefix="/insights", tags=["insights"])

GroupBy = Literal["none", "department", "cost_center", "category", "vendor", "amount_band"]
Period = Literal["month", "week", "day"]


def _answer(fmt: str, rows: list[dict[str, Any]], model: Any, filename: str, **fields: Any) -> Any:
    if fmt == "csv":
        columns = list(model.model_fields["rows"].annotation.__args__[0].model_fields)
        return csv_response(rows, columns, filename)
    return model(rows=rows, **fields)


@router.get("/cycle-times", response_model=CycleTimesRead, responses=CSV_RESPONSE)
async def cycle_times(
    uow: UowDep,
    _: Reader,
    scope: ScopeDep,
    group_by: GroupBy = "none",
    period: Annotated[Period | None, Query(description="also split by the period the stage ended in")] = None,
    format: Format = "json",
) -> Any:
    rows = await reports.cycle_times(uow.session, group_by=group_by, period=period, scope=scope)
    return _answer(format, rows, CycleTimesRead, "cycle-times", group_by=group_by, period=period)


@router.get("/bottlenecks/stages", response_model=StageSharesRead, responses=CSV_RESPONSE)
async def stage_shares(uow: UowDep, _: Reader, scope: ScopeDep, format: Format = "json") -> Any:
    rows = await reports.stage_shares(uow.session, scope=scope)
    return _answer(format, rows, StageSharesRead, "stage-shares")


@router.get("/bottlenecks/approvers", response_model=ApproversRead, responses=CSV_RESPONSE)
async def approvers(uow: UowDep, _: Reader, scope: ScopeDep, as_of: AsOf, format: Format = "json") -> Any:
    rows = await reports.approvers(uow.session, as_of=as_of, scope=scope)
    return _answer(format, rows, ApproversRead, "approvers", as_of=as_of)


@router.get("/bottlenecks/vendors", response_model=VendorsRead, responses=CSV_RESPONSE)
async def vendors(uow: UowDep, _: Reader, scope: ScopeDep, format: Format = "json") -> Any:
    rows = await reports.vendors(uow.session, scope=scope)
    return _answer(format, rows, VendorsRead, "vendors")


@router.get("/bottlenecks/revisions", response_model=RevisionsRead, responses=CSV_RESPONSE)
async def revisions(uow: UowDep, _: Reader, scope: ScopeDep, format: Format = "json") -> Any:
    rows = await reports.revisions(uow.session, scope=scope)
    sent_back, changes = len(rows), sum(r["changes_requested"] for r in rows)
    return _answer(format, rows, RevisionsRead, "revisions", requests_sent_back=sent_back, changes_requested=changes)


@router.get("/bottlenecks/deliveries", response_model=FailedDeliveriesRead, responses=CSV_RESPONSE)
async def deliveries(
    uow: UowDep,
    _: Reader,
    scope: ScopeDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    format: Format = "json",
) -> Any:
    rows = await reports.failed_deliveries(uow.session, scope=scope, limit=limit)
    return _answer(format, rows, FailedDeliveriesRead, "failed-deliveries")


@router.get("/sla/tasks", response_model=TaskSlaRead, responses=CSV_RESPONSE)
async def task_sla(
    uow: UowDep,
    _: Reader,
    scope: ScopeDep,
    as_of: AsOf,
    by: Literal["step", "approver"] = "step",
    format: Format = "json",
) -> Any:
    rows = await reports.task_sla(uow.session, by=by, as_of=as_of, scope=scope)
    return _answer(format, rows, TaskSlaRead, f"task-sla-by-{by}", by=by, as_of=as_of)


@router.get("/sla/open-requests", response_model=OpenRequestsRead, responses=CSV_RESPONSE)
async def open_requests(
    uow: UowDep,
    _: Reader,
    settings: InsightsSettings,
    scope: ScopeDep,
    as_of: AsOf,
    older_than_hours: Annotated[float | None, Query(ge=0, le=24 * 3650)] = None,
    format: Format = "json",
) -> Any:
    hours = settings.open_request_age_hours if older_than_hours is None else older_than_hours
    rows = await reports.open_requests(uow.session, older_than_seconds=hours * 3600, as_of=as_of, scope=scope)
    for row in rows:
        row["waiting_who"] = [
            {"id": p["id"], "name": p["name"] or (row["vendor_name"] if row["waiting_kind"] == "vendor" else "")}
            for p in row["waiting_who"] or []
        ]
    return _answer(format, rows, OpenRequestsRead, "open-requests", as_of=as_of, older_than_hours=hours)


@router.get("/spend", response_model=SpendRead, responses=CSV_RESPONSE)
async def spend(
    uow: UowDep,
    _: Reader,
    settings: InsightsSettings,
    scope: ScopeDep,
    group_by: GroupBy = "department",
    by_month: bool = True,
    format: Format = "json",
) -> Any:
    raw = await reports.spend(
        uow.session, group_by=group_by, by_month=by_month, reporting_currency=settings.reporting_currency, scope=scope
    )
    rows, unconverted = in_reporting_currency(raw)
    answer = SpendRead(
        reporting_currency=settings.reporting_currency,
        group_by=group_by,
        rows=rows,
        unconverted=unconverted,  # type: ignore[arg-type]
    )
    if format == "csv":
        csv_rows = [{**r, "currency": settings.reporting_currency} for r in rows]
        csv_rows += [
            {"group": u["group"], "month": u["month"], u["kind"]: u["amount"], "currency": u["currency"]}
            for u in unconverted
        ]
        return csv_response(csv_rows, ["group", "month", "currency", "committed", "received"], "spend")
    return answer


RequestId = Annotated[str, Path(min_length=1, max_length=200, pattern=NUL_FREE_NONEMPTY)]


@router.get("/requests/{request_id}", response_model=RequestInsightRead)
async def request_insight(request_id: RequestId, uow: UowDep, _: Reader) -> Any:
    row = await reports.request_view(uow.session, request_id)
    if row is None:
        raise UnknownRequest(f"no event of request {request_id} has been seen", request_id=request_id)
    cycle = next((s["seconds"] for s in row["stages"] if s["stage"] == "cycle"), None)
    return RequestInsightRead(**{**row, "cycle_seconds": cycle})
