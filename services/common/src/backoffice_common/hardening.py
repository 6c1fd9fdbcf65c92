"""Response headers a browser needs to be safe with what a service serves, and who may read the
operational pages.

Vendors open signed-link pages and PDF downloads in an ordinary browser: every answer says what it
is (``nosniff``), may not be framed (``frame-ancestors 'none'``), loads nothing (``default-src
'none'``), leaks no address in ``Referer`` and is not kept by a browser or proxy cache
(``no-store``). A route that sets one of these headers itself keeps its own value. The API
documentation pages run Swagger UI and ReDoc, which need their own scripts: they get a policy that
allows this service's origin and nothing else.

``/metrics`` and the documentation (``/docs``, ``/redoc``, ``/openapi.json``) answer only to the
networks the settings list (``metrics_allow_from``, ``docs_allow_from``; unset means anyone, an
empty list nobody). Anyone else gets a 404, as if the page did not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backoffice_common.problems import problem_response

Network = IPv4Network | IPv6Network

API_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")
METRICS_PATHS = ("/metrics",)


def _matches(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def _defaults(path: str) -> list[tuple[bytes, bytes]]:
    policy = DOCS_POLICY if _matches(path, DOCS_PATHS) else API_POLICY
    return [
        (b"x-content-type-options", b"nosniff"),
        (b"content-security-policy", policy.encode()),
        (b"referrer-policy", b"no-referrer"),
        (b"cache-control", b"no-store"),
    ]


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP answer; no ``server`` header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        defaults = _defaults(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in defaults:
                    if name.decode() not in headers:
                        headers.append(name.decode(), value.decode())
                if "server" in headers:
                    del headers["server"]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class OperationalAccess:
    """ASGI middleware: ``/metrics`` and the documentation only for the configured networks."""

    def __init__(
        self, app: ASGIApp, *, metrics_allow_from: Sequence[Network] | None, docs_allow_from: Sequence[Network] | None
    ) -> None:
        self.app = app
        self.rules = [(METRICS_PATHS, metrics_allow_from), (DOCS_PATHS, docs_allow_from)]

    def allowed(self, path: str, client: str | None) -> bool:
        for prefixes, networks in self.rules:
            if networks is None or not _matches(path, prefixes):
                continue
            try:
                address = ip_address(client or "")
            except ValueError:
                return False
            return any(address in network for network in networks)
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and not self.allowed(scope.get("path", ""), client[0] if client else None):
            response = problem_response(404, "Not Found", "no such page", type="not-found", instance=scope.get("path"))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


__all__ = ["API_POLICY", "DOCS_POLICY", "Network", "OperationalAccess", "SecurityHeaders"]
