"""Sessions, sign-in guard, roles, CSRF and rendering shared by every page."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from backoffice_console import i18n
from backoffice_console.backend import Backend
from backoffice_console.oidc import OidcClient, SignInFailed, expires_soon
from backoffice_console.sessions import COOKIE, Session, SessionStore
from backoffice_console.settings import Settings

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


class NeedsSignIn(Exception):
    def __init__(self, target: str) -> None:
        self.target = target


class Forbidden(Exception):
    def __init__(self, needed: tuple[str, ...], reason: str = "") -> None:
        self.needed = needed
        self.reason = reason


class CsrfRefused(Exception):
    pass


def store(request: Request) -> SessionStore:
    return request.app.state.sessions  # type: ignore[no-any-return]


def current_session(request: Request) -> Session | None:
    return store(request).get(request.cookies.get(COOKIE))


def locale_of(request: Request, session: Session | None) -> str:
    if session is not None and session.locale:
        return session.locale
    if session is not None and session.claims.get("locale"):
        return i18n.normalize(session.claims["locale"])
    return i18n.normalize(request.headers.get("accept-language", "en"))


async def signed_in(request: Request) -> Session:
    session = current_session(request)
    if session is None or not session.signed_in:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise NeedsSignIn(target if request.method == "GET" else "/")
    if expires_soon(session.tokens):
        oidc: OidcClient = request.app.state.oidc
        try:
            session.tokens, session.claims = await oidc.refresh(session.tokens)
        except SignInFailed as exc:
            store(request).drop(session.id)
            raise NeedsSignIn(request.url.path) from exc
    return session


SignedIn = Annotated[Session, Depends(signed_in)]


def require(*roles: str) -> Callable[[Session], Awaitable[Session]]:
    async def dependency(session: SignedIn) -> Session:
        if not session.roles.intersection(roles):
            raise Forbidden(roles)
        return session

    return dependency


async def checked_form(request: Request, session: SignedIn) -> dict[str, Any]:
    """The posted form, refused unless it carries this session's CSRF token (field or header)."""
    form = await request.form()
    sent = str(form.get("csrf_token") or request.headers.get("x-csrf-token") or "")
    if not sent or not hmac.compare_digest(sent, session.csrf):
        raise CsrfRefused
    return {key: form.getlist(key) if len(form.getlist(key)) > 1 else form.get(key) for key in form}


CheckedForm = Annotated[dict[str, Any], Depends(checked_form)]


def backend(request: Request) -> Backend:
    return request.app.state.backend  # type: ignore[no-any-return]


def settings_of(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    session = current_session(request)
    locale = locale_of(request, session)

    def t(text: str) -> str:
        return i18n.translate(locale, text)

    base = {
        "session": session if session is not None and session.signed_in else None,
        "csrf": session.csrf if session is not None else "",
        "locale": locale,
        "t": t,
        "money": lambda amount, currency: i18n.money(locale, amount, currency),
        "number": lambda value: i18n.number(locale, value),
        "when": lambda value: i18n.when(locale, value),
        "day": lambda value: i18n.day(locale, value),
        "event": lambda event_type: i18n.event_label(locale, str(event_type)),
        "note_beyond": i18n.note_beyond,
        "here": quote(request.url.path),
        "can": lambda *roles: session is not None and bool(session.roles.intersection(roles)),
    }
    return templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)
