"""The requester's pages: my requests, the new-request form, the request page and its actions."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from backoffice_console import i18n, live
from backoffice_console.backend import ApiError, Backend
from backoffice_console.budgets import budget_check
from backoffice_console.sessions import Session
from backoffice_console.web import CheckedForm, backend, locale_of, render, require

router = APIRouter()
Requester = Annotated[Session, Depends(require("requester", "procurement", "admin"))]
STATUSES = (
    "draft",
    "submitted",
    "changes_requested",
    "approved",
    "rejected",
    "vendor_notified",
    "vendor_accepted",
    "vendor_declined",
    "contract_pending",
    "contract_executed",
    "partially_received",
    "received",
    "closed",
    "cancelled",
)
ACTIONS = {"submit": "submit", "cancel": "cancel", "close": "close", "receipts": "receipts"}


@router.get("/requests", include_in_schema=False)
async def my_requests(
    request: Request, session: Requester, status: str = "", q: str = "", cursor: str = "", limit: int = 20
) -> Response:
    params: dict[str, Any] = {"status": status or None, "q": q or None, "cursor": cursor or None}
    params["limit"] = max(1, min(limit, 100))
    if "requester" in session.roles and not session.roles.intersection({"procurement", "admin"}):
        params["requester"] = session.user_id
    page = await backend(request).call(session.tokens["access_token"], "GET", "requests", "/requests", params=params)
    template = "requests_rows.html" if request.headers.get("hx-request") else "requests.html"
    return render(request, template, page=page, status=status, q=q, statuses=STATUSES, limit=params["limit"])


def _blank_form(session: Session) -> dict[str, Any]:
    return {
        "title": "",
        "description": "",
        "vendor_id": "",
        "currency": "EUR",
        "cost_center": "",
        "department": str(session.claims.get("department") or ""),
        "category": "",
        "needed_by": "",
        "lines": [{"description": "", "quantity": "1", "unit": "pcs", "unit_price": ""}],
        "idempotency_key": str(uuid.uuid4()),
    }


@router.get("/requests/new", include_in_schema=False)
async def new_request(request: Request, session: Requester) -> Response:
    vendors = await _vendors(request, session)
    return render(
        request, "request_form.html", form=_blank_form(session), errors={}, problem=None, vendors=vendors, mode="new"
    )


@router.post("/requests/new", include_in_schema=False)
async def create_request(request: Request, session: Requester, form: CheckedForm) -> Response:
    data = _form_to_body(form, locale_of(request, session))
    try:
        created = await backend(request).call(
            session.tokens["access_token"],
            "POST",
            "requests",
            "/requests",
            json=data,
            idempotency_key=str(form.get("idempotency_key") or uuid.uuid4()),
        )
    except ApiError as exc:
        if exc.status >= 500:
            raise
        shown = {**data, "idempotency_key": str(uuid.uuid4())}
        vendors = await _vendors(request, session)
        return render(
            request,
            "request_form.html",
            422,
            form=shown,
            errors=exc.field_errors(),
            problem=exc,
            vendors=vendors,
            mode="new",
        )
    return RedirectResponse(f"/requests/{created['id']}", status_code=303)


def _filled_form(current: dict[str, Any], locale: str) -> dict[str, Any]:
    """The request as the form shows it: numbers in the user's decimal separator, no grouping."""
    return {
        **{k: current.get(k) or "" for k in ("title", "description", "vendor_id", "currency", "cost_center")},
        **{k: current.get(k) or "" for k in ("department", "category")},
        "needed_by": str(current.get("needed_by") or "")[:10],
        "lines": [
            {
                "description": line.get("description", ""),
                "quantity": i18n.plain(locale, line.get("quantity", "")),
                "unit": line.get("unit", ""),
                "unit_price": i18n.plain(locale, line.get("unit_price", ""), places=2),
            }
            for line in current.get("lines", [])
        ],
        "idempotency_key": str(uuid.uuid4()),
        "comment": "",
    }


def _edit_mode(current: dict[str, Any]) -> str | None:
    allowed = current.get("allowed_actions", [])
    return "edit" if "edit" in allowed else "revise" if "revise" in allowed else None


@router.get("/requests/{request_id}/edit", include_in_schema=False)
async def edit_request(request: Request, request_id: str, session: Requester) -> Response:
    """Edit a draft, or revise the request after the approver asked for changes."""
    current = await backend(request).call(session.tokens["access_token"], "GET", "requests", f"/requests/{request_id}")
    mode = _edit_mode(current)
    if mode is None:
        return RedirectResponse(f"/requests/{request_id}", status_code=303)
    vendors = await _vendors(request, session)
    form = _filled_form(current, locale_of(request, session))
    asked = None
    if mode == "revise":  # what the approver asked for, shown above the form
        chains = await _optional(
            backend(request).call(session.tokens["access_token"], "GET", "approvals", f"/requests/{request_id}/chain")
        )
        tasks = [t for c in chains or [] for t in c.get("tasks", []) if t.get("decision") == "changes_requested"]
        asked = tasks[-1] if tasks else None
    return render(
        request,
        "request_form.html",
        form=form,
        errors={},
        problem=None,
        vendors=vendors,
        mode=mode,
        r=current,
        asked=asked,
    )


@router.post("/requests/{request_id}/edit", include_in_schema=False)
async def save_request(request: Request, request_id: str, session: Requester, form: CheckedForm) -> Response:
    token = session.tokens["access_token"]
    api = backend(request)
    data = _form_to_body(form, locale_of(request, session))
    mode = "revise" if form.get("mode") == "revise" else "edit"
    version = str(form.get("version") or "")
    if not data["needed_by"]:
        data.pop("needed_by")
    try:
        if mode == "edit":
            await api.call(token, "PATCH", "requests", f"/requests/{request_id}", json=data, if_match=version)
        else:
            body = {**data, "comment": str(form.get("comment") or "").strip()}
            await api.call(
                token,
                "POST",
                "requests",
                f"/requests/{request_id}/revise",
                json=body,
                if_match=version,
                idempotency_key=str(form.get("idempotency_key") or uuid.uuid4()),
            )
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        current = await api.call(token, "GET", "requests", f"/requests/{request_id}")
        shown = {**data, "comment": str(form.get("comment") or ""), "idempotency_key": str(uuid.uuid4())}
        shown.setdefault("needed_by", "")
        if exc.status == 412:  # someone changed it meanwhile: show their version, keep the typed text
            exc.detail = i18n.translate(
                locale_of(request, session), "The request was changed meanwhile. Please check and save again."
            )
        vendors = await _vendors(request, session)
        return render(
            request,
            "request_form.html",
            422 if exc.status != 412 else 409,
            form=shown,
            errors=exc.field_errors(),
            problem=exc,
            vendors=vendors,
            mode=mode,
            r=current,
        )
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _form_to_body(form: dict[str, Any], locale: str) -> dict[str, Any]:
    descriptions = _listed(form.get("line_description"))
    quantities = _listed(form.get("line_quantity"))
    units = _listed(form.get("line_unit"))
    prices = _listed(form.get("line_unit_price"))
    lines = [
        {
            "description": d.strip(),
            "quantity": i18n.decimal_input(locale, q),
            "unit": u.strip(),
            "unit_price": i18n.decimal_input(locale, p),
        }
        for d, q, u, p in zip(descriptions, quantities, units, prices, strict=False)
        if d.strip() or p.strip()
    ]
    return {
        "title": str(form.get("title") or "").strip(),
        "description": str(form.get("description") or "").strip(),
        "vendor_id": str(form.get("vendor_id") or "").strip(),
        "currency": str(form.get("currency") or "EUR").strip(),
        "cost_center": str(form.get("cost_center") or "").strip(),
        "department": str(form.get("department") or "").strip(),
        "category": str(form.get("category") or "").strip(),
        "needed_by": str(form.get("needed_by") or "").strip() or None,
        "lines": lines,
    }


async def _vendors(request: Request, session: Session) -> list[dict[str, Any]]:
    """The vendor directory when the user may read it; otherwise the field takes a vendor id."""
    try:
        found = await backend(request).call(session.tokens["access_token"], "GET", "notifications", "/vendors")
    except ApiError:
        return []
    items = found.get("items", found) if isinstance(found, dict) else found
    return [v for v in items if isinstance(v, dict)] if isinstance(items, list) else []


@router.get("/requests/{request_id}", include_in_schema=False)
async def request_page(request: Request, request_id: str, session: Requester) -> Response:
    token = session.tokens["access_token"]
    api = backend(request)
    # the four reads at once: the page waits for the slowest service, not for their sum
    current, (timeline, archived, timeline_problem), chains, contracts, check = await asyncio.gather(
        api.call(token, "GET", "requests", f"/requests/{request_id}"),
        _timeline(api, token, request_id, locale_of(request, session)),
        _optional(api.call(token, "GET", "approvals", f"/requests/{request_id}/chain")),
        _optional(api.call(token, "GET", "contracts", "/contracts", params={"request_id": request_id})),
        budget_check(request, session, request_id),
    )
    waiting = _waiting_on(chains or [])
    chain = (chains or [None])[-1]
    contract = (contracts or [None])[-1]
    version = live.version_of(
        current.get("status"),
        current.get("revision"),
        current.get("allowed_actions"),
        [(line.get("line_no"), line.get("quantity_received")) for line in current.get("lines", [])],
        [e.get("id") or e.get("occurred_at") for e in timeline] + [timeline_problem],
        chain,
        contract and (contract.get("status"), contract.get("signatures")),
        check,
    )
    same = live.unchanged(request, version)
    if same is not None:
        return same
    page = render(
        request,
        "request.html",
        r=current,
        timeline=list(reversed(timeline)),
        timeline_archived=archived,
        timeline_problem=timeline_problem,
        chain=chain,
        contract=contract,
        waiting=waiting,
        check=check,
        problem=None,
        version=version,
        poll_seconds=live.POLL_SECONDS,
    )
    return live.tagged(page, version)


async def _timeline(
    api: Backend, token: str, request_id: str, language: str
) -> tuple[list[dict[str, Any]], bool, str | None]:
    """The entries, whether they were read back from the archive (``Timeline-Source: archive``: the request
    finished long ago), and why they cannot be shown now: an archived timeline the object store has lost
    (410), refused (502) or cannot give now (503) leaves the rest of the page readable."""
    try:
        response = await api.call(
            token, "GET", "requests", f"/requests/{request_id}/timeline", raw=True, language=language
        )
    except ApiError as exc:
        if exc.status in (410, 502, 503):
            return [], False, exc.detail
        raise
    entries: list[dict[str, Any]] = response.json()
    return entries, response.headers.get("Timeline-Source") == "archive", None


async def _optional(call: Any) -> Any:
    try:
        return await call
    except ApiError as exc:
        if exc.status in (403, 404):
            return None
        raise


def _waiting_on(chains: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not chains:
        return []
    return [t for t in chains[-1].get("tasks", []) if t.get("status") == "open"]


@router.post("/requests/{request_id}/{action}", include_in_schema=False)
async def request_action(
    request: Request, request_id: str, action: str, session: Requester, form: CheckedForm
) -> Response:
    if action not in ACTIONS:
        return render(request, "error.html", 404, title="Page not found", detail=action)
    body: dict[str, Any] | None = None
    if action == "cancel":
        body = {"reason": str(form.get("reason") or "").strip()}
    elif action == "close":
        body = {"short": False}
    elif action == "receipts":
        lines = []
        for key, value in form.items():
            if key.startswith("received_") and str(value).strip():
                try:
                    quantity = Decimal(i18n.decimal_input(locale_of(request, session), str(value)))
                except InvalidOperation:
                    quantity = Decimal(-1)
                if quantity != 0:
                    number = i18n.decimal_input(locale_of(request, session), str(value))
                    lines.append({"line_no": int(key.removeprefix("received_")), "quantity": number})
        body = {"lines": lines}
    try:
        await backend(request).call(
            session.tokens["access_token"], "POST", "requests", f"/requests/{request_id}/{action}", json=body
        )
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        current = await backend(request).call(
            session.tokens["access_token"], "GET", "requests", f"/requests/{request_id}"
        )
        timeline, archived, timeline_problem = await _timeline(
            backend(request), session.tokens["access_token"], request_id, locale_of(request, session)
        )
        return render(
            request,
            "request.html",
            422,
            r=current,
            timeline=timeline,
            timeline_archived=archived,
            timeline_problem=timeline_problem,
            chain=None,
            contract=None,
            waiting=[],
            problem=exc,
        )
    return RedirectResponse(f"/requests/{request_id}", status_code=303)
