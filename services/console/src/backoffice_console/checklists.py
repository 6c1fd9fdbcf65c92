"""Onboarding and offboarding checklists (checklists service): my items, the HR view, one checklist, templates.

Everyone signed in works the items assigned to them or their groups, with the evidence each item
asks for; HR (``hr`` or ``admin``) sees every running checklist with its progress, overdue items
and red flags, reads one employee's checklist, cancels one, and edits templates (a new version
per save) with a preview of what a given employee would get.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from backoffice_console.backend import ApiError
from backoffice_console.sessions import Session
from backoffice_console.web import CheckedForm, SignedIn, backend, render, require

router = APIRouter()
Hr = Annotated[Session, Depends(require("hr", "admin"))]
HR_ROLES = frozenset({"hr", "admin"})

# What each evidence kind asks for: (field, label, input type); a note may come with any.
EVIDENCE_FIELDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "confirmation": (),
    "serial_number": (("serial_number", "Serial number", "text"),),
    "document_reference": (("document_reference", "Document reference (filing number or link)", "text"),),
    "sign_off": (("signed_off_by", "Signed off by (a second person)", "text"),),
    "interview_held": (("held_by", "Interview held by", "text"), ("held_on", "Held on", "date")),
}
STATUSES = ("running", "completed", "cancelled")
KINDS = ("onboarding", "offboarding")
PAGE = 50
EMPLOYEE_FIELDS = (
    "id",
    "name",
    "language",
    "department",
    "location",
    "employment_type",
    "manager_id",
    "start_date",
    "last_day",
)


def _token(session: Session) -> str:
    return str(session.tokens["access_token"])


def _safe_next(target: str, default: str) -> str:
    return target if target.startswith("/checklists") and not target.startswith("//") else default


def _item_errors(exc: ApiError, kind: str) -> dict[str, str]:
    """A refused completion -> messages by field (``_`` for the whole item)."""
    fields = {name for name, _, _ in EVIDENCE_FIELDS.get(kind, ())}
    found: dict[str, str] = {}
    for location, message in exc.field_errors().items():
        name = location.rsplit(".", 1)[-1]
        found[name if name in fields else "_"] = message
    if kind == "sign_off" and "second person" in exc.detail:
        found["signed_off_by"] = exc.detail
    if not found or "_" in found:
        found["_"] = exc.detail
    return found


def evidence_of(kind: str, form: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The evidence body from the form, and the fields left empty (checked here first, then by the service)."""
    evidence: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, _, _ in EVIDENCE_FIELDS.get(kind, ()):
        value = str(form.get(name) or "").strip()
        if value:
            evidence[name] = value
        else:
            errors[name] = "Enter this to complete the item."
    note = str(form.get("note") or "").strip()
    if note:
        evidence["note"] = note
    return evidence, errors


async def _mine(request: Request, session: Session, code: int = 200, failed: dict[str, Any] | None = None) -> Response:
    items = await backend(request).call(
        _token(session), "GET", "checklists", "/me/items", params={"include_waiting": "true", "limit": 200}
    )
    ready = [i for i in items if i["status"] == "ready"]
    waiting = [i for i in items if i["status"] != "ready"]
    return render(
        request,
        "checklist_items.html",
        code,
        ready=ready,
        waiting=waiting,
        fields=EVIDENCE_FIELDS,
        failed=failed or {},
        today=date.today().isoformat(),
    )


@router.get("/checklists/mine", include_in_schema=False)
async def my_items(request: Request, session: SignedIn) -> Response:
    return await _mine(request, session)


@router.post("/checklists/{checklist_id}/items/{key}/complete", include_in_schema=False)
async def complete_item(
    request: Request, checklist_id: str, key: str, session: SignedIn, form: CheckedForm
) -> Response:
    kind = str(form.get("evidence_kind") or "confirmation")
    back = _safe_next(str(form.get("next") or ""), "/checklists/mine")
    evidence, errors = evidence_of(kind, form)
    if not errors:
        try:
            await backend(request).call(
                _token(session),
                "POST",
                "checklists",
                f"/checklists/{quote(checklist_id)}/items/{quote(key)}/complete",
                json={"evidence": evidence},
            )
        except ApiError as exc:
            if exc.status >= 500 or exc.status in (401, 403, 404):
                raise
            errors = _item_errors(exc, kind)
    if not errors:
        return RedirectResponse(back, status_code=303)
    failed = {"checklist_id": checklist_id, "key": key, "errors": errors, "values": evidence}
    if back.startswith("/checklists/mine"):
        return await _mine(request, session, 422, failed)
    return await _checklist(request, session, checklist_id, 422, failed)


@router.get("/checklists", include_in_schema=False)
async def hr_view(request: Request, session: Hr, status: str = "running", kind: str = "", offset: int = 0) -> Response:
    status = status if status in STATUSES else "running"
    kind = kind if kind in KINDS else ""
    offset = max(0, offset)
    rows = await backend(request).call(
        _token(session),
        "GET",
        "checklists",
        "/checklists",
        params={"status": status, "kind": kind, "limit": PAGE + 1, "offset": offset},
    )
    return render(
        request,
        "checklists.html",
        rows=rows[:PAGE],
        more=len(rows) > PAGE,
        status=status,
        kind=kind,
        offset=offset,
        page=PAGE,
        statuses=STATUSES,
        kinds=KINDS,
        red_flags=sum(int(r.get("red_flags") or 0) for r in rows[:PAGE]),
    )


@router.get("/checklists/templates", include_in_schema=False)
async def templates_list(request: Request, session: Hr) -> Response:
    found = await backend(request).call(_token(session), "GET", "checklists", "/templates")
    return render(request, "checklist_templates.html", templates_=sorted(found, key=lambda t: str(t["key"])))


def _items_text(items: list[dict[str, Any]]) -> str:
    return json.dumps(items, ensure_ascii=False, indent=2)


def _default_employee(template: dict[str, Any]) -> dict[str, str]:
    today = date.today().isoformat()
    return {
        "id": "preview",
        "name": "Preview Person",
        "language": str(template.get("language") or "en"),
        "department": "",
        "location": "office",
        "employment_type": "",
        "manager_id": "",
        "start_date": today,
        "last_day": today if template.get("kind") == "offboarding" else "",
    }


async def _template_page(
    request: Request,
    session: Session,
    key: str,
    code: int = 200,
    *,
    draft: dict[str, str] | None = None,
    errors: list[str] | None = None,
    employee: dict[str, str] | None = None,
    preview: list[dict[str, Any]] | None = None,
    preview_errors: dict[str, str] | None = None,
    saved: str = "",
) -> Response:
    api = backend(request)
    template = await api.call(_token(session), "GET", "checklists", f"/templates/{quote(key)}")
    versions = await api.call(_token(session), "GET", "checklists", f"/templates/{quote(key)}/versions")
    form = draft or {"title": str(template["title"]), "items": _items_text(template["items"])}
    return render(
        request,
        "checklist_template.html",
        code,
        tp=template,
        versions=sorted(versions, key=lambda v: int(v["version"]), reverse=True),
        form=form,
        errors=errors or [],
        employee=employee or _default_employee(template),
        preview=preview,
        preview_errors=preview_errors or {},
        saved=saved,
    )


@router.get("/checklists/templates/{key}", include_in_schema=False)
async def template_page(request: Request, key: str, session: Hr, saved: str = "") -> Response:
    return await _template_page(request, session, key, saved=saved if saved.isdigit() else "")


def parse_items(text: str) -> tuple[list[dict[str, Any]] | None, list[str]]:
    """The items typed as JSON: a list of objects, or a message with the line and column of the mistake."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [f"Line {exc.lineno}, column {exc.colno}: {exc.msg}"]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return None, ["The items must be a list of objects."]
    return items, []


def problem_lines(exc: ApiError, items: list[dict[str, Any]]) -> list[str]:
    """The service's refusal as lines a person can act on: ``item 3 (laptop), due.offset_days: ...``."""
    lines: list[str] = []
    for error in exc.errors:
        location = str(error.get("location", "")).removeprefix("body.").removeprefix("body")
        message = str(error.get("message", ""))
        parts = location.split(".")
        if len(parts) >= 2 and parts[0] == "items" and parts[1].isdigit():
            index = int(parts[1])
            name = str(items[index].get("key", "")) if index < len(items) else ""
            where = f"item {index + 1}" + (f" ({name})" if name else "")
            rest = ".".join(parts[2:])
            lines.append(f"{where}{', ' + rest if rest else ''}: {message}")
        elif location:
            lines.append(f"{location}: {message}")
        else:
            lines.append(message)
    if not lines or exc.detail not in " ".join(lines):
        lines.insert(0, exc.detail)
    return lines


@router.post("/checklists/templates/{key}", include_in_schema=False)
async def save_template(request: Request, key: str, session: Hr, form: CheckedForm) -> Response:
    draft = {"title": str(form.get("title") or "").strip(), "items": str(form.get("items") or "")}
    items, errors = parse_items(draft["items"])
    if items is None:
        return await _template_page(request, session, key, 422, draft=draft, errors=errors)
    api = backend(request)
    current = await api.call(_token(session), "GET", "checklists", f"/templates/{quote(key)}")
    body = {"kind": current["kind"], "language": current["language"], "title": draft["title"], "items": items}
    try:
        saved = await api.call(_token(session), "PUT", "checklists", f"/templates/{quote(key)}", json=body)
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403, 404):
            raise
        return await _template_page(request, session, key, 422, draft=draft, errors=problem_lines(exc, items))
    return RedirectResponse(f"/checklists/templates/{quote(key)}?saved={int(saved['version'])}", status_code=303)


def employee_of(form: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    """What was typed, the employee body for the service, and field errors found here."""
    typed = {name: str(form.get(name) or "").strip() for name in EMPLOYEE_FIELDS}
    errors: dict[str, str] = {}
    if not typed["name"]:
        errors["name"] = "Enter a name."
    for name in ("start_date", "last_day"):
        if typed[name]:
            try:
                date.fromisoformat(typed[name])
            except ValueError:
                errors[name] = "Enter a date."
    if not typed["start_date"]:
        errors["start_date"] = "Enter a date."
    body: dict[str, Any] = {k: v for k, v in typed.items() if v}
    body.setdefault("id", "preview")
    return typed, body, errors


@router.post("/checklists/templates/{key}/preview", include_in_schema=False)
async def preview_template(request: Request, key: str, session: Hr, form: CheckedForm) -> Response:
    typed, body, errors = employee_of(form)
    preview: list[dict[str, Any]] | None = None
    if not errors:
        try:
            preview = await backend(request).call(
                _token(session), "POST", "checklists", f"/templates/{quote(key)}/preview", json={"employee": body}
            )
        except ApiError as exc:
            if exc.status >= 500 or exc.status in (401, 403, 404):
                raise
            found = {loc.rsplit(".", 1)[-1]: msg for loc, msg in exc.field_errors().items()}
            errors = {k: v for k, v in found.items() if k in EMPLOYEE_FIELDS} or {"_": exc.detail}
    return await _template_page(
        request, session, key, 422 if errors else 200, employee=typed, preview=preview, preview_errors=errors
    )


async def _checklist(
    request: Request, session: Session, checklist_id: str, code: int = 200, failed: dict[str, Any] | None = None
) -> Response:
    api = backend(request)
    checklist = await api.call(_token(session), "GET", "checklists", f"/checklists/{quote(checklist_id)}")
    hr = bool(HR_ROLES & session.roles)
    assigned: set[str] = set()
    if not hr:  # the items of this checklist the service counts as the caller's (person, group, escalation)
        items = await api.call(_token(session), "GET", "checklists", "/me/items", params={"limit": 500})
        assigned = {str(i["key"]) for i in items if i.get("checklist_id") == checklist["id"]}

    def mine(item: dict[str, Any]) -> bool:
        return hr or str(item["key"]) in assigned

    return render(
        request,
        "checklist.html",
        code,
        c=checklist,
        mine=mine,
        fields=EVIDENCE_FIELDS,
        failed=failed or {},
        today=date.today().isoformat(),
        hr=hr,
    )


@router.get("/checklists/{checklist_id}", include_in_schema=False)
async def checklist_page(request: Request, checklist_id: str, session: SignedIn) -> Response:
    return await _checklist(request, session, checklist_id)


@router.post("/checklists/{checklist_id}/cancel", include_in_schema=False)
async def cancel_checklist(request: Request, checklist_id: str, session: Hr, form: CheckedForm) -> Response:
    reason = str(form.get("reason") or "").strip()
    if not reason:
        return await _checklist(request, session, checklist_id, 422, {"cancel": "Give a reason."})
    try:
        await backend(request).call(
            _token(session), "POST", "checklists", f"/checklists/{quote(checklist_id)}/cancel", json={"reason": reason}
        )
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403, 404):
            raise
        return await _checklist(request, session, checklist_id, 422, {"cancel": exc.detail})
    return RedirectResponse(f"/checklists/{quote(checklist_id)}", status_code=303)
