"""Admin: the contract templates of the contracts service (``/contract-templates``).

The versions per language (active, pending, superseded), one version's typst source, a new version
uploaded (the contracts service renders it in its sandbox first: its refusal is shown next to the
field, with what was typed kept), the preview PDF proxied with the admin's token, and the
activation of a pending version by a second admin (four eyes: the uploader is refused).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from backoffice_console.backend import ApiError
from backoffice_console.sessions import Session
from backoffice_console.web import CheckedForm, backend, render, require

router = APIRouter()
Admin = Annotated[Session, Depends(require("admin"))]
LANGUAGES = ("en", "de")
PAGE = "/admin/contract-templates"
VERSION = re.compile(r"^[1-9][0-9]{0,8}$")


def _token(session: Session) -> str:
    return str(session.tokens["access_token"])


def _checked(language: str, version: str) -> tuple[str, int]:
    """``en``/``de`` and a positive version number, else the console's 404 page (nothing is asked)."""
    if language not in LANGUAGES or not VERSION.match(version):
        raise StarletteHTTPException(404, "No such template version.")
    return language, int(version)


def by_language(versions: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The versions of each language, newest first."""
    grouped: dict[str, list[dict[str, Any]]] = {language: [] for language in LANGUAGES}
    for found in versions:
        grouped.setdefault(str(found.get("language")), []).append(found)
    for rows in grouped.values():
        rows.sort(key=lambda v: int(v.get("version") or 0), reverse=True)
    return grouped


def is_segregation_refusal(exc: ApiError) -> bool:
    return exc.status == 403 and exc.type.endswith("segregation-of-duties")


async def _page(
    request: Request,
    session: Session,
    code: int = 200,
    *,
    shown: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    notice_version: str = "",
    refusal: str = "",
    here: str | None = None,
) -> Response:
    versions = await backend(request).call(_token(session), "GET", "contracts", "/contract-templates")
    return render(
        request,
        "contract_templates.html",
        code,
        languages=by_language(list(versions)),
        shown=shown,
        form=form or {"language": "en", "description": "", "body": ""},
        errors=errors or {},
        notice=notice,
        notice_version=notice_version,
        refusal=refusal,
        **({"here": here} if here else {}),
    )


@router.get("/admin/contract-templates", include_in_schema=False)
async def templates_page(
    request: Request, session: Admin, language: str = "", version: str = "", done: str = ""
) -> Response:
    shown = None
    if language or version:
        lang, number = _checked(language, version)
        shown = await backend(request).call(_token(session), "GET", "contracts", f"/contract-templates/{lang}/{number}")
    notice = done if done in ("added", "activated") else ""
    return await _page(
        request, session, shown=shown, notice=notice, notice_version=f"{language} {version}" if notice else ""
    )


@router.post("/admin/contract-templates", include_in_schema=False)
async def upload(request: Request, session: Admin, form: CheckedForm) -> Response:
    typed = {
        "language": str(form.get("language") or ""),
        "description": str(form.get("description") or "").strip(),
        "body": str(form.get("body") or ""),
    }
    errors: dict[str, str] = {}
    if typed["language"] not in LANGUAGES:
        errors["language"] = "Choose English or German."
    if not typed["body"].strip():
        errors["body"] = "Enter the template's typst source."
    if errors:
        return await _page(request, session, 422, form=typed, errors=errors)
    try:
        created = await backend(request).call(
            _token(session),
            "POST",
            "contracts",
            "/contract-templates",
            json={"language": typed["language"], "body": typed["body"], "description": typed["description"]},
        )
    except ApiError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        found = {re.split(r"[.\[]", k, maxsplit=1)[0]: v for k, v in exc.field_errors().items() if k}
        # invalid-template: the compiler's (or the sandbox's) reason, next to the source
        errors = {k: v for k, v in found.items() if k in typed} or {"body": exc.detail}
        return await _page(request, session, 422, form=typed, errors=errors)
    return RedirectResponse(
        f"/admin/contract-templates?language={created['language']}&version={int(created['version'])}&done=added",
        status_code=303,
    )


@router.get("/admin/contract-templates/{language}/{version}/preview.pdf", include_in_schema=False)
async def preview(request: Request, language: str, version: str, session: Admin) -> Response:
    lang, number = _checked(language, version)
    try:
        answer = await backend(request).call(
            _token(session), "GET", "contracts", f"/contract-templates/{lang}/{number}/preview.pdf", raw=True
        )
    except ApiError as exc:
        if exc.status != 422:
            raise
        return render(request, "error.html", 422, title="The template does not render", detail=exc.detail)
    return Response(
        answer.content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="contract-template-{lang}-{number}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/admin/contract-templates/{language}/{version}/activation", include_in_schema=False)
async def activate(request: Request, language: str, version: str, session: Admin, form: CheckedForm) -> Response:
    lang, number = _checked(language, version)
    api = backend(request)
    try:
        await api.call(_token(session), "POST", "contracts", f"/contract-templates/{lang}/{number}/activation")
    except ApiError as exc:
        if is_segregation_refusal(exc):
            refusal = "You uploaded this version: a second admin must activate it."
        elif exc.status == 409:
            refusal = exc.detail
        else:
            raise
        shown = await api.call(_token(session), "GET", "contracts", f"/contract-templates/{lang}/{number}")
        return await _page(request, session, 403 if exc.status == 403 else 409, shown=shown, refusal=refusal, here=PAGE)
    return RedirectResponse(
        f"/admin/contract-templates?language={lang}&version={number}&done=activated", status_code=303
    )
