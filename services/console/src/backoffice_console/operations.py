"""Admin operations: failed deliveries (retry) and every service's dead-lettered events (redrive)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from backoffice_console.backend import ApiError
from backoffice_console.sessions import Session
from backoffice_console.web import CheckedForm, backend, render, require

router = APIRouter()
Admin = Annotated[Session, Depends(require("admin"))]
SERVICES = ("requests", "approvals", "notifications", "contracts", "budgets", "insights")


async def _letters(request: Request, token: str, service: str) -> dict[str, Any]:
    """One service's dead letters; a service that cannot answer is shown as such, not as an error page."""
    try:
        found = await backend(request).call(token, "GET", service, "/admin/dlq", params={"limit": 200})
    except (ApiError, httpx.TransportError) as exc:
        detail = exc.detail if isinstance(exc, ApiError) else "not reachable"
        return {"service": service, "items": [], "error": detail}
    return {"service": service, "items": found.get("items", []), "error": None}


@router.get("/admin/operations", include_in_schema=False)
async def operations(request: Request, session: Admin, redriven: str = "") -> Response:
    token = session.tokens["access_token"]
    failed, *letters = await asyncio.gather(
        backend(request).call(token, "GET", "notifications", "/deliveries", params={"status": "failed", "limit": 200}),
        *(_letters(request, token, s) for s in SERVICES),
    )
    return render(request, "operations.html", failed=failed, letters=letters, redriven=redriven)


@router.post("/admin/deliveries/{delivery_id}/retry", include_in_schema=False)
async def retry(request: Request, delivery_id: str, session: Admin, form: CheckedForm) -> Response:
    await backend(request).call(
        session.tokens["access_token"], "POST", "notifications", f"/deliveries/{delivery_id}/retry"
    )
    return RedirectResponse("/admin/operations#deliveries", status_code=303)


@router.post("/admin/dlq/{service}/redrive", include_in_schema=False)
async def redrive(request: Request, service: str, session: Admin, form: CheckedForm) -> Response:
    if service not in SERVICES:
        return render(request, "error.html", 404, title="Page not found", detail=service)
    try:
        record = {
            "topic": str(form.get("topic") or ""),
            "partition": int(form["partition"]),
            "offset": int(form["offset"]),
        }
    except (KeyError, TypeError, ValueError):
        return render(request, "error.html", 422, title="Something went wrong", detail="no dead letter chosen")
    result = await backend(request).call(
        session.tokens["access_token"], "POST", service, "/admin/dlq/redrive", json={"records": [record]}
    )
    outcome = ",".join(str(i.get("outcome")) for i in result.get("items", [])) or "not_found"
    return RedirectResponse(f"/admin/operations?redriven={outcome}#dlq", status_code=303)
