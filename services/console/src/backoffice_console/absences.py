"""Absences and delegation: an approver (or an admin for them) names a delegate for whole days away.

New tasks during the absence go to the delegate and open tasks move when it starts (the approvals
service does that); the page lists the absences, adds one and cancels one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from backoffice_console.backend import ApiError
from backoffice_console.sessions import Session
from backoffice_console.web import CheckedForm, backend, render, require

router = APIRouter()
Approver = Annotated[Session, Depends(require("approver", "admin"))]


async def _page(
    request: Request, session: Session, code: int, form: dict[str, str], errors: dict[str, str], problem: Any
) -> Response:
    token = session.tokens["access_token"]
    api = backend(request)
    absences = await api.call(token, "GET", "approvals", "/absences")
    people: list[dict[str, Any]] = []
    if "admin" in session.roles:  # the directory is the admin's to read; others type the delegate's id
        people = await api.call(token, "GET", "approvals", "/directory/approvers")
    names = {p["id"]: p.get("name") or p["id"] for p in people}
    today = date.today()
    rows = [
        {
            **a,
            "delegate_name": names.get(a["delegate_id"], a["delegate_id"]),
            "user_name": names.get(a["user_id"], a["user_id"]),
            "last_day": (datetime.fromisoformat(a["ends_at"]) - timedelta(seconds=1)).date().isoformat(),
            "active": a.get("cancelled_at") is None and str(a["ends_at"]) > datetime.now(UTC).isoformat(),
        }
        for a in sorted(absences, key=lambda a: str(a["starts_at"]), reverse=True)
    ]
    form = {"delegate_id": "", "first_day": today.isoformat(), "last_day": today.isoformat(), **form}
    return render(
        request,
        "absences.html",
        code,
        rows=rows,
        people=[p for p in people if p["id"] != session.user_id],
        form=form,
        errors=errors,
        problem=problem,
    )


@router.get("/absences", include_in_schema=False)
async def absences(request: Request, session: Approver) -> Response:
    return await _page(request, session, 200, {}, {}, None)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@router.post("/absences", include_in_schema=False)
async def add_absence(request: Request, session: Approver, form: CheckedForm) -> Response:
    typed = {k: str(form.get(k) or "").strip() for k in ("delegate_id", "first_day", "last_day")}
    first, last = _day(typed["first_day"]), _day(typed["last_day"])
    errors: dict[str, str] = {}
    if first is None:
        errors["first_day"] = "Enter a date."
    if last is None:
        errors["last_day"] = "Enter a date."
    elif first is not None and last < first:
        errors["last_day"] = "The last day cannot be before the first."
    if not typed["delegate_id"]:
        errors["delegate_id"] = "Choose a delegate."
    if errors or first is None or last is None:
        return await _page(request, session, 422, typed, errors, None)
    body = {
        "delegate_id": typed["delegate_id"],
        "starts_at": datetime.combine(first, time(0), tzinfo=UTC).isoformat(),
        "ends_at": datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC).isoformat(),
    }
    try:
        await backend(request).call(session.tokens["access_token"], "POST", "approvals", "/absences", json=body)
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        found = exc.field_errors()
        errors = {
            "delegate_id": found.get("delegate_id", ""),
            "first_day": found.get("starts_at", ""),
            "last_day": found.get("ends_at", ""),
        }
        return await _page(request, session, 422, typed, {k: v for k, v in errors.items() if v}, exc)
    return RedirectResponse("/absences", status_code=303)


@router.post("/absences/{absence_id}/cancel", include_in_schema=False)
async def cancel_absence(request: Request, absence_id: str, session: Approver, form: CheckedForm) -> Response:
    await backend(request).call(session.tokens["access_token"], "DELETE", "approvals", f"/absences/{absence_id}")
    return RedirectResponse("/absences", status_code=303)
