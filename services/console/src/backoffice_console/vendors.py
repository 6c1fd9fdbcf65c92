"""Vendor management for procurement: the directory, a vendor created or edited, blocked or unblocked,
and a new webhook secret sent to the vendor (the console never sees it: the vendor's first contact
gets a one-time retrieval link).

The vendor directory lives in the notifications service (``/vendors``); field errors from its answer
are shown next to the fields.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from backoffice_console.backend import ApiError
from backoffice_console.sessions import Session
from backoffice_console.web import CheckedForm, backend, render, require

router = APIRouter()
Staff = Annotated[Session, Depends(require("procurement", "admin"))]
FIELDS = ("legal_name", "address", "contact_emails", "language", "webhook_url")
_NEW_KEY_OUTCOME = "vendor-credentials:"
"""The session's flash name of a new secret's outcome, followed by the vendor's id."""


@router.get("/vendors", include_in_schema=False)
async def vendor_list(request: Request, session: Staff, offset: int = 0) -> Response:
    offset = max(0, offset)
    found = await backend(request).call(
        session.tokens["access_token"], "GET", "notifications", "/vendors", params={"limit": 51, "offset": offset}
    )
    vendors = sorted(found[:50], key=lambda v: str(v.get("legal_name", "")).lower())
    return render(request, "vendors.html", vendors=vendors, offset=offset, more=len(found) > 50)


def _blank() -> dict[str, Any]:
    return {"legal_name": "", "address": "", "contact_emails": "", "language": "en", "webhook_url": ""}


@router.get("/vendors/new", include_in_schema=False)
async def new_vendor(request: Request, session: Staff) -> Response:
    return render(request, "vendor_form.html", form=_blank(), vendor=None, errors={}, problem=None)


@router.get("/vendors/{vendor_id}/edit", include_in_schema=False)
async def edit_vendor(request: Request, vendor_id: str, session: Staff) -> Response:
    """The vendor's form and credentials, with the outcome of a new secret sent just before (shown once)."""
    vendor = await backend(request).call(
        session.tokens["access_token"], "GET", "notifications", f"/vendors/{quote(vendor_id, safe='')}"
    )
    form = {**vendor, "contact_emails": "\n".join(vendor["contact_emails"]), "webhook_url": vendor["webhook_url"] or ""}
    sent = session.take(_NEW_KEY_OUTCOME + vendor_id) or {}
    return render(
        request,
        "vendor_form.html",
        form=form,
        vendor=vendor,
        errors={},
        problem=None,
        rotated=sent.get("rotated"),
        secret_refused=sent.get("refused"),
        secret_key=str(uuid.uuid4()),
    )


def _body(form: dict[str, Any]) -> dict[str, Any]:
    emails = [e for e in re.split(r"[\s,;]+", str(form.get("contact_emails") or "")) if e]
    return {
        "legal_name": str(form.get("legal_name") or "").strip(),
        "address": str(form.get("address") or "").strip(),
        "contact_emails": emails,
        "language": str(form.get("language") or "en"),
        "webhook_url": str(form.get("webhook_url") or "").strip() or None,
    }


def _field_errors(exc: ApiError) -> dict[str, str]:
    """``contact_emails[1]`` -> ``contact_emails``: the message stands next to the field it is about."""
    found: dict[str, str] = {}
    for location, message in exc.field_errors().items():
        found.setdefault(re.split(r"[.\[]", location, maxsplit=1)[0], message)
    return found


@router.post("/vendors/new", include_in_schema=False)
async def create_vendor(request: Request, session: Staff, form: CheckedForm) -> Response:
    return await _save(request, session, form, None)


@router.post("/vendors/{vendor_id}/edit", include_in_schema=False)
async def update_vendor(request: Request, vendor_id: str, session: Staff, form: CheckedForm) -> Response:
    return await _save(request, session, form, vendor_id)


async def _save(request: Request, session: Session, form: dict[str, Any], vendor_id: str | None) -> Response:
    body = _body(form)
    token = session.tokens["access_token"]
    api = backend(request)
    try:
        if vendor_id is None:
            saved = await api.call(token, "POST", "notifications", "/vendors", json=body)
        else:
            saved = await api.call(token, "PATCH", "notifications", f"/vendors/{vendor_id}", json=body)
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        vendor = None if vendor_id is None else await api.call(token, "GET", "notifications", f"/vendors/{vendor_id}")
        shown = {
            **body,
            "contact_emails": str(form.get("contact_emails") or ""),
            "webhook_url": body["webhook_url"] or "",
        }
        return render(
            request,
            "vendor_form.html",
            422,
            form=shown,
            vendor=vendor,
            errors=_field_errors(exc),
            problem=exc,
            secret_key=str(uuid.uuid4()),
        )
    return RedirectResponse(f"/vendors#v-{saved['id']}", status_code=303)


@router.post("/vendors/{vendor_id}/status", include_in_schema=False)
async def set_status(request: Request, vendor_id: str, session: Staff, form: CheckedForm) -> Response:
    status = "blocked" if form.get("status") == "blocked" else "active"
    await backend(request).call(
        session.tokens["access_token"], "PATCH", "notifications", f"/vendors/{vendor_id}", json={"status": status}
    )
    return RedirectResponse(f"/vendors#v-{vendor_id}", status_code=303)


@router.post("/vendors/{vendor_id}/secrets", include_in_schema=False)
async def send_secret(request: Request, vendor_id: str, session: Staff, form: CheckedForm) -> Response:
    """A new webhook secret, then a redirect to the vendor's page (post-redirect-get: a reload shows the page
    again and sends nothing); the page names, once, who got the retrieval link and until when it works.
    The form's ``idempotency_key`` (one per rendered form) goes with it: the same form sent twice (a double
    click, a resubmission) rotates once, and the second answer is the first one replayed."""
    path = f"/vendors/{quote(vendor_id, safe='')}"
    try:
        rotated = await backend(request).call(
            session.tokens["access_token"],
            "POST",
            "notifications",
            f"{path}/secrets",
            idempotency_key=str(form.get("idempotency_key") or "") or None,
        )
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403, 404):
            raise
        session.leave(_NEW_KEY_OUTCOME + vendor_id, {"refused": {"status": exc.status, "detail": exc.detail}})
    else:
        shown = ("retrieval_sent_to", "retrieval_expires_at", "previous_secrets_expire_at")
        session.leave(_NEW_KEY_OUTCOME + vendor_id, {"rotated": {k: rotated.get(k) for k in shown}})
    return RedirectResponse(f"{path}/edit", status_code=303)
