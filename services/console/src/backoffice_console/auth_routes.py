"""Sign-in (authorization code + PKCE), the callback, sign-out and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backoffice_console import i18n
from backoffice_console.oidc import OidcClient, SignInFailed
from backoffice_console.sessions import COOKIE
from backoffice_console.web import CheckedForm, SignedIn, current_session, locale_of, render, settings_of, store

router = APIRouter()


def _safe_target(target: str | None) -> str:
    """Only a path of this console (no open redirect to another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _with_cookie(request: Request, response: Response, session_id: str) -> Response:
    response.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        samesite="lax",
        secure=settings_of(request).cookie_secure,
        path="/",
    )
    return response


@router.get("/auth/login", include_in_schema=False)
async def login(request: Request, next: str = "/") -> Response:
    oidc: OidcClient = request.app.state.oidc
    session = current_session(request) or store(request).new()
    url, login_state = await oidc.authorization_url(locale=locale_of(request, session))
    session.login = {**login_state, "target": _safe_target(next)}
    return _with_cookie(request, RedirectResponse(url, status_code=303), session.id)


@router.get("/auth/callback", include_in_schema=False)
async def callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    session = current_session(request)
    if session is None or not session.login or not state or state != session.login.get("state") or not code:
        return render(request, "error.html", 400, title="Sign-in failed", detail=error or "Please sign in again.")
    oidc: OidcClient = request.app.state.oidc
    try:
        tokens, claims = await oidc.exchange(code, session.login["verifier"], session.login["nonce"])
    except SignInFailed as exc:
        return render(request, "error.html", 400, title="Sign-in failed", detail=str(exc))
    target = session.login.get("target", "/")
    # a fresh session id after sign-in (no session fixation)
    store(request).drop(session.id)
    fresh = store(request).new()
    fresh.tokens, fresh.claims, fresh.locale = tokens, claims, session.locale
    return _with_cookie(request, RedirectResponse(target, status_code=303), fresh.id)


@router.post("/auth/logout", include_in_schema=False)
async def logout(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    oidc: OidcClient = request.app.state.oidc
    id_token = session.tokens.get("id_token")
    store(request).drop(session.id)
    response = RedirectResponse(await oidc.logout_url(str(id_token) if id_token else None), status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/signed-out", include_in_schema=False)
async def signed_out(request: Request) -> Response:
    return render(request, "signed_out.html")


@router.post("/locale", include_in_schema=False)
async def switch_locale(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    session.locale = i18n.normalize(form.get("locale"))
    return RedirectResponse(_safe_target(str(form.get("next") or "/")), status_code=303)
