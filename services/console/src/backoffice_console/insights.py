"""Insights: cycle-time trend, stage breakdown, slowest approvers, spend by department, open requests.

Figures come from the insights service's API (procurement and admin read it); the charts are inline
SVG drawn here (``charts``), each next to its table and a CSV download of the same report.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from backoffice_console import charts
from backoffice_console.i18n import money, translate
from backoffice_console.sessions import Session
from backoffice_console.web import backend, locale_of, render, require

router = APIRouter()
Reader = Annotated[Session, Depends(require("procurement", "admin"))]
STAGE_ORDER = ("approval", "rework", "vendor_answer", "contracting", "delivery", "closing", "cycle")
EXPORTS: dict[str, tuple[str, dict[str, str]]] = {
    # the console's CSV name -> (the insights API path, its query)
    "cycle-times": ("/insights/cycle-times", {}),
    "cycle-time-trend": ("/insights/cycle-times", {"period": "day"}),
    "stages": ("/insights/bottlenecks/stages", {}),
    "approvers": ("/insights/bottlenecks/approvers", {}),
    "spend": ("/insights/spend", {"group_by": "department", "by_month": "false"}),
    "open-requests": ("/insights/sla/open-requests", {}),
}


STAGE_LABELS = {
    "approval": ("Approval", "Freigabe"),
    "rework": ("Rework after changes requested", "Nacharbeit nach Änderungswunsch"),
    "vendor_answer": ("Vendor's answer", "Antwort des Lieferanten"),
    "contracting": ("Contract signing", "Vertragsunterzeichnung"),
    "delivery": ("Delivery", "Lieferung"),
    "closing": ("Closing", "Abschluss"),
    "cycle": ("Whole cycle", "Gesamter Ablauf"),
}


def stage_label(locale: str, stage: str) -> str:
    known = STAGE_LABELS.get(stage)
    return (known[1] if locale == "de" else known[0]) if known else stage.replace("_", " ")


def _stage_key(stage: str) -> int:
    return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER)


@router.get("/insights", include_in_schema=False)
async def overview(request: Request, session: Reader) -> Response:
    token = session.tokens["access_token"]
    api = backend(request)
    locale = locale_of(request, session)

    def get(name: str) -> Any:
        path, params = EXPORTS[name]
        return api.call(token, "GET", "insights", path, params=params)

    cycle, trend, stages, approvers, spend, open_requests = await asyncio.gather(
        get("cycle-times"), get("cycle-time-trend"), get("stages"), get("approvers"), get("spend"), get("open-requests")
    )

    def took(seconds: object) -> str:
        return charts.duration(seconds, locale)

    def t(text: str) -> str:
        return translate(locale, text)

    def stage(name: str) -> str:
        return stage_label(locale, name)

    cycle_rows = sorted(cycle["rows"], key=lambda r: _stage_key(r["stage"]))
    trend_points = [
        charts.Bar(r["group"], float(r["p50_seconds"]), took(r["p50_seconds"]))
        for r in sorted(trend["rows"], key=lambda r: str(r["group"]))
        if r["stage"] == "cycle"
    ]
    stage_rows = stages["rows"]
    slowest = [r for r in approvers["rows"] if r["median_response_seconds"] is not None][:10]
    currency = spend["reporting_currency"]
    spend_rows = sorted(spend["rows"], key=lambda r: float(r["committed"]), reverse=True)
    return render(
        request,
        "insights.html",
        cycle_rows=cycle_rows,
        trend_rows=trend_points,
        stage=stage,
        stage_rows=stage_rows,
        approver_rows=approvers["rows"],
        spend_rows=spend_rows,
        unconverted=spend["unconverted"],
        currency=currency,
        open_rows=open_requests["rows"],
        older_than_hours=open_requests["older_than_hours"],
        took=took,
        trend_chart=charts.line(trend_points, t("Cycle time p50 per day")),
        cycle_chart=charts.bars(
            [charts.Bar(stage(r["stage"]), float(r["p50_seconds"]), took(r["p50_seconds"])) for r in cycle_rows],
            t("Cycle time p50 per stage"),
        ),
        stage_chart=charts.bars(
            [
                charts.Bar(stage(r["stage"]), float(r["share"]) * 100, f"{float(r['share']) * 100:.0f} %")
                for r in stage_rows
            ],
            t("Share of waiting time per stage"),
            colour=charts.PALETTE[1],
        ),
        approver_chart=charts.bars(
            [
                charts.Bar(
                    r["approver_name"] or r["approver_id"],
                    float(r["median_response_seconds"]),
                    took(r["median_response_seconds"]),
                )
                for r in slowest
            ],
            t("Slowest approvers by median response time"),
            colour=charts.PALETTE[3],
        ),
        spend_chart=charts.bars(
            [
                charts.Bar(r["group"] or "\u2013", float(r["committed"]), money(locale, r["committed"], currency))
                for r in spend_rows
            ],
            t("Committed spend per department"),
            colour=charts.PALETTE[2],
        ),
    )


@router.get("/insights/{report}.csv", include_in_schema=False)
async def export(request: Request, report: str, session: Reader) -> Response:
    if report not in EXPORTS:
        return render(request, "error.html", 404, title="Page not found", detail=report)
    path, params = EXPORTS[report]
    upstream = await backend(request).call(
        session.tokens["access_token"], "GET", "insights", path, params={**params, "format": "csv"}, raw=True
    )
    return Response(
        upstream.content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{report}.csv"'},
    )
