"""Admin: the approver directory (edit one person, CSV import with a per-row report) and the
approval policies (edit as YAML or JSON with the validation errors inline, a dry run of a sample
request under the draft, save as a new version)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import quote

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from backoffice_console import i18n
from backoffice_console.backend import ApiError
from backoffice_console.sessions import Session
from backoffice_console.web import CheckedForm, backend, locale_of, render, require

router = APIRouter()
Admin = Annotated[Session, Depends(require("admin"))]
APPROVER_FIELDS = (
    "name",
    "email",
    "manager_id",
    "department",
    "head_of",
    "groups",
    "limit_amount",
    "limit_currency",
)
SAMPLE_FIELDS = ("requester_id", "department", "total", "currency", "category", "cost_center", "budget")
BUDGET_STATUSES = ("", "within_budget", "over_budget", "no_budget")
ROW = re.compile(r"^(?:rows|approvers)(?:\[(\d+)\]|\.(\d+))\.?(.*)$")
"""``rows[1].limit_amount`` or ``rows.1.limit_amount``: the index of a CSV row and the field."""


def _token(session: Session) -> str:
    return str(session.tokens["access_token"])


@router.get("/admin", include_in_schema=False)
async def admin_home(request: Request, session: Admin, saved: str = "") -> Response:
    approvers = await backend(request).call(_token(session), "GET", "approvals", "/directory/approvers")
    policies = await backend(request).call(_token(session), "GET", "approvals", "/policies")
    return render(
        request,
        "admin.html",
        approvers=approvers,
        policies=policies,
        csv_text="",
        import_errors=[],
        imported=saved if saved.isdigit() else "",
    )


# ---- the approver directory ----


def row_report(exc: ApiError) -> list[dict[str, str]]:
    """A refused import as one line per CSV row: ``rows.2.email`` -> row 3 (after the header), email."""
    report: list[dict[str, str]] = []
    for error in exc.errors:
        location = str(error.get("location", "")).removeprefix("body.")
        row = ROW.match(location)
        if row is not None:
            index = int(row.group(1) or row.group(2))
            report.append({"row": str(index + 2), "field": row.group(3), "message": str(error.get("message", ""))})
        else:
            report.append({"row": "", "field": location, "message": str(error.get("message", ""))})
    return report or [{"row": "", "field": "", "message": exc.detail}]


@router.post("/admin/directory/import", include_in_schema=False)
async def import_csv(request: Request, session: Admin, form: CheckedForm) -> Response:
    text = str(form.get("csv") or "")
    upload = form.get("file")
    if upload is not None and hasattr(upload, "read"):
        data = await upload.read()
        if data:
            text = data.decode("utf-8-sig", errors="replace")
    api = backend(request)
    try:
        answer = await api.call(
            _token(session),
            "POST",
            "approvals",
            "/directory/approvers/import",
            content=text,
            content_type="text/csv; charset=utf-8",
        )
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        approvers = await api.call(_token(session), "GET", "approvals", "/directory/approvers")
        policies = await api.call(_token(session), "GET", "approvals", "/policies")
        return render(
            request,
            "admin.html",
            422,
            approvers=approvers,
            policies=policies,
            csv_text=text,
            import_errors=row_report(exc),
            imported="",
        )
    return RedirectResponse(f"/admin?saved={int(answer['imported'])}", status_code=303)


def _approver_form(found: dict[str, Any]) -> dict[str, str]:
    form = {name: "" if found.get(name) is None else str(found.get(name)) for name in APPROVER_FIELDS}
    form["head_of"] = ", ".join(found.get("head_of") or [])
    form["groups"] = ", ".join(found.get("groups") or [])
    form["active"] = "on" if found.get("active", True) else ""
    return form


@router.get("/admin/directory/{approver_id}", include_in_schema=False)
async def approver_page(request: Request, approver_id: str, session: Admin) -> Response:
    found = await backend(request).call(
        _token(session), "GET", "approvals", f"/directory/approvers/{quote(approver_id, safe='')}"
    )
    return render(request, "approver_form.html", approver_id=approver_id, form=_approver_form(found), errors={})


def approver_body(form: dict[str, str], locale: str) -> dict[str, Any]:
    """The form as ``PUT /directory/approvers/{id}``: lists split at commas, empty optional fields as null."""
    body: dict[str, Any] = {
        "name": form["name"],
        "email": form["email"],
        "manager_id": form["manager_id"] or None,
        "department": form["department"] or None,
        "head_of": [p.strip() for p in form["head_of"].split(",") if p.strip()],
        "groups": [p.strip() for p in form["groups"].split(",") if p.strip()],
        "limit_amount": i18n.decimal_input(locale, form["limit_amount"]) if form["limit_amount"] else None,
        "limit_currency": form["limit_currency"].upper() or None,
        "active": form.get("active") == "on",
    }
    return body


@router.post("/admin/directory/{approver_id}", include_in_schema=False)
async def save_approver(request: Request, approver_id: str, session: Admin, form: CheckedForm) -> Response:
    typed = {name: str(form.get(name) or "").strip() for name in (*APPROVER_FIELDS, "active")}
    body = approver_body(typed, locale_of(request, session))
    try:
        await backend(request).call(
            _token(session), "PUT", "approvals", f"/directory/approvers/{quote(approver_id, safe='')}", json=body
        )
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403, 404):
            raise
        errors = {loc.split(".")[0]: msg for loc, msg in exc.field_errors().items()} or {"_": exc.detail}
        return render(request, "approver_form.html", 422, approver_id=approver_id, form=typed, errors=errors)
    return RedirectResponse("/admin", status_code=303)


# ---- approval policies ----


def parse_policy(text: str, fmt: str) -> tuple[Any, list[str]]:
    """The typed policy document, or a message with the line of the mistake."""
    try:
        if fmt == "json":
            return json.loads(text), []
        return yaml.safe_load(text), []
    except json.JSONDecodeError as exc:
        return None, [f"Line {exc.lineno}, column {exc.colno}: {exc.msg}"]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"Line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        return None, [f"{where}{getattr(exc, 'problem', None) or exc}"]


def problem_lines(exc: ApiError) -> list[str]:
    lines = [
        f"{str(e.get('location', '')).removeprefix('body.').removeprefix('policy.')}: {e.get('message', '')}"
        for e in exc.errors
    ]
    return lines or [exc.detail]


def _dump(document: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


async def _policy_page(
    request: Request,
    session: Session,
    code: int = 200,
    *,
    text: str | None = None,
    fmt: str = "yaml",
    sample: dict[str, str] | None = None,
    errors: list[str] | None = None,
    sample_errors: dict[str, str] | None = None,
    result: dict[str, Any] | None = None,
    saved: str = "",
) -> Response:
    api = backend(request)
    versions = await api.call(_token(session), "GET", "approvals", "/policies")
    if text is None:
        active = await api.call(_token(session), "GET", "approvals", "/policies/active")
        text = _dump(active["document"], fmt)
    return render(
        request,
        "policies.html",
        code,
        versions=versions,
        text=text,
        fmt=fmt,
        sample=sample
        or {
            "requester_id": "rita",
            "department": "ENG",
            "total": "12000",
            "currency": "EUR",
            "category": "",
            "cost_center": "",
            "budget": "",
        },
        errors=errors or [],
        sample_errors=sample_errors or {},
        result=result,
        budget_statuses=BUDGET_STATUSES,
        saved=saved,
    )


@router.get("/admin/policies", include_in_schema=False)
async def policies_page(request: Request, session: Admin, saved: str = "", fmt: str = "yaml") -> Response:
    return await _policy_page(
        request, session, saved=saved if saved.isdigit() else "", fmt="json" if fmt == "json" else "yaml"
    )


def sample_request(sample: dict[str, str], locale: str) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    if not sample["requester_id"]:
        errors["requester_id"] = "Enter the requester's id."
    total = i18n.decimal_input(locale, sample["total"]) if sample["total"] else ""
    if not total:
        errors["total"] = "Enter an amount."
    body: dict[str, Any] = {
        "requester": {"id": sample["requester_id"], "department": sample["department"] or None},
        "department": sample["department"] or None,
        "currency": (sample["currency"] or "EUR").upper(),
        "total": total or "0",
        "category": sample["category"] or None,
        "cost_center": sample["cost_center"] or None,
    }
    return body, errors


@router.post("/admin/policies", include_in_schema=False)
async def policy_action(request: Request, session: Admin, form: CheckedForm) -> Response:
    text = str(form.get("policy") or "")
    fmt = "json" if form.get("format") == "json" else "yaml"
    action = str(form.get("action") or "dry_run")
    sample = {name: str(form.get(name) or "").strip() for name in SAMPLE_FIELDS}
    page: dict[str, Any] = {"text": text, "fmt": fmt, "sample": sample}
    document, errors = parse_policy(text, fmt)
    if errors:
        return await _policy_page(request, session, 422, errors=errors, **page)
    api = backend(request)
    if action == "save":
        try:
            created = await api.call(
                _token(session),
                "POST",
                "approvals",
                "/policies",
                content=text,
                content_type="application/json" if fmt == "json" else "application/yaml",
            )
        except ApiError as exc:
            if exc.status >= 500 or exc.status in (401, 403):
                raise
            return await _policy_page(request, session, 422, errors=problem_lines(exc), **page)
        return RedirectResponse(f"/admin/policies?saved={int(created['version'])}&fmt={fmt}", status_code=303)
    snapshot, sample_errors = sample_request(sample, locale_of(request, session))
    if sample_errors:
        return await _policy_page(request, session, 422, sample_errors=sample_errors, **page)
    body: dict[str, Any] = {"request": snapshot, "policy": document}
    if sample["budget"] in BUDGET_STATUSES[1:]:
        body["budget"] = {"status": sample["budget"]}
    try:
        result = await api.call(_token(session), "POST", "approvals", "/policies/dry-run", json=body)
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        policy_errors = [e for e in exc.errors if str(e.get("location", "")).startswith(("policy", "body.policy"))]
        if policy_errors or not exc.errors:
            return await _policy_page(request, session, 422, errors=problem_lines(exc), **page)
        found = {str(e.get("location", "")).rsplit(".", 1)[-1]: str(e.get("message", "")) for e in exc.errors}
        mapped = {("requester_id" if k == "id" else k): v for k, v in found.items()}
        sample_errors = {k: v for k, v in mapped.items() if k in SAMPLE_FIELDS} or {"total": exc.detail}
        return await _policy_page(request, session, 422, sample_errors=sample_errors, **page)
    return await _policy_page(request, session, result=result, **page)
