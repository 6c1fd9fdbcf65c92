"""Every console route, called as a stranger (no session cookie, or a forged one): it sends the browser to
the sign-in page, never a page or an error. The routes are read from the app itself, so a page added later
without the sign-in dependency fails here; the few that must work signed out are named below."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from backoffice_console.main import create_app
from backoffice_console.settings import Settings

SIGNED_OUT_ROUTES = {
    ("GET", "/auth/login"),  # starts the sign-in
    ("GET", "/auth/callback"),  # ends it (refuses a callback without its state)
    ("POST", "/auth/logout"),
    ("GET", "/signed-out"),
    ("POST", "/locale"),  # the language switch of the sign-in page itself
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),  # Prometheus, as every service's: only the monitoring namespace reaches it, never the Gateway
}
UUID = "0b7e1c4e-6a1f-4f4e-9b8e-2f6f3f0f9a11"


def _concrete(path: str) -> str:
    """The route's path with a plausible value in every parameter (the refusal must come before any use)."""
    return re.sub(r"\{[^}]+\}", lambda m: "en" if m.group(0) == "{language}" else UUID, path)


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """The app's routes, those of included routers too (FastAPI keeps an included router whole)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
    return found


def _routes() -> list[tuple[str, str]]:
    app = create_app(Settings())
    found = {(method, route.path) for route in _api_routes(app.routes) for method in route.methods}
    return sorted(found - {("HEAD", path) for _, path in found})


def test_the_console_has_the_routes_this_test_walks() -> None:
    routes = _routes()
    assert len(routes) > 40
    assert set(routes) >= SIGNED_OUT_ROUTES, "a route meant to work signed out is gone: update SIGNED_OUT_ROUTES"


@pytest.mark.parametrize("cookie", [None, "forged-session-id"])
async def test_every_signed_in_route_sends_a_stranger_to_the_sign_in(cookie: str | None) -> None:
    app = create_app(Settings())
    transport = httpx.ASGITransport(app=app)
    cookies = {"bo_session": cookie} if cookie else None
    wrong: list[str] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test", cookies=cookies) as c:
        for method, path in _routes():
            if (method, path) in SIGNED_OUT_ROUTES:
                continue
            data = {"csrf_token": "x"} if method == "POST" else None
            answer = await c.request(method, _concrete(path), data=data)
            location = answer.headers.get("location", "")
            if answer.status_code != 303 or not location.startswith("/auth/login?next="):
                wrong.append(f"{method} {path}: {answer.status_code} {location}")
    assert not wrong, "routes that do not send a stranger to the sign-in:\n" + "\n".join(wrong)
