"""Budgets: utilisation per cost centre as a bar, the ledger of one budget (the budgets service's API)."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from backoffice_console import charts
from backoffice_console.backend import ApiError
from backoffice_console.sessions import Session
from backoffice_console.web import backend, render, require

router = APIRouter()
READERS = ("finance", "admin", "procurement", "approver")
"""The roles the budgets service lets read budgets, ledgers and checks."""
Reader = Annotated[Session, Depends(require(*READERS))]
KINDS = ("allocated", "transferred_in", "transferred_out", "reserved", "committed", "released", "spent")


@router.get("/budgets", include_in_schema=False)
async def budgets(
    request: Request, session: Reader, status: str = "open", period: str = "", cost_center: str = "", cursor: str = ""
) -> Response:
    params: dict[str, Any] = {
        "status": status if status in ("open", "closed") else None,
        "period": period.strip() or None,
        "cost_center": cost_center.strip() or None,
        "cursor": cursor or None,
        "limit": 50,
    }
    page = await backend(request).call(session.tokens["access_token"], "GET", "budgets", "/budgets", params=params)
    rows = [{**b, "bar": charts.utilisation(b["balances"], f"{b['cost_center']} {b['period']}")} for b in page["items"]]
    return render(
        request,
        "budgets.html",
        rows=rows,
        next_cursor=page.get("next_cursor"),
        status=status,
        period=period,
        cost_center=cost_center,
    )


@router.get("/budgets/{budget_id}", include_in_schema=False)
async def budget_ledger(
    request: Request, budget_id: str, session: Reader, kind: str = "", cursor: str = ""
) -> Response:
    token = session.tokens["access_token"]
    api = backend(request)
    budget = await api.call(token, "GET", "budgets", f"/budgets/{budget_id}")
    params = {"kind": kind if kind in KINDS else None, "cursor": cursor or None, "limit": 50}
    ledger = await api.call(token, "GET", "budgets", f"/budgets/{budget_id}/ledger", params=params)
    return render(
        request,
        "budget.html",
        b=budget,
        bar=charts.utilisation(budget["balances"], f"{budget['cost_center']} {budget['period']}", width=480),
        movements=ledger["items"],
        next_cursor=ledger.get("next_cursor"),
        kind=kind,
        kinds=KINDS,
    )


@router.get("/budgets/{budget_id}/ledger.csv", include_in_schema=False)
async def ledger_csv(request: Request, budget_id: str, session: Reader) -> Response:
    upstream = await backend(request).call(
        session.tokens["access_token"], "GET", "budgets", f"/budgets/{budget_id}/ledger.csv", raw=True
    )
    disposition = upstream.headers.get("content-disposition", f'attachment; filename="ledger-{budget_id}.csv"')
    return Response(
        upstream.content, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition}
    )


async def budget_check(request: Request, session: Session, request_id: str) -> dict[str, Any] | None:
    """The newest budget check of a request, or None when there is none yet or the user may not read it
    (the budgets service lets finance, admin, procurement and approvers read checks, not requesters)."""
    if not session.roles.intersection(READERS):
        return None
    try:
        checks = await backend(request).call(
            session.tokens["access_token"], "GET", "budgets", f"/requests/{request_id}/checks"
        )
    except (ApiError, httpx.TransportError):
        return None  # the check is a hint on the page: a budgets outage must not hide the request
    return checks[-1] if isinstance(checks, list) and checks else None
