"""The one ASGI layer in front of every service's routes: correlation id, request metrics, security
headers and who may read the operational pages.

It does in one pass what three middlewares did one after the other (each with its own wrapper of
``send`` and its own walk over the headers), in the same order, so every answer is the same:

1. A URL with a NUL byte (raw or ``%00``) is refused with a 400 problem (PostgreSQL refuses NUL in
   text; refused here, once, for every path and query parameter).
2. The correlation id (``X-Correlation-ID`` if well-formed, else a new UUID) is bound to the log
   context and put in ``scope["state"]``; every answer carries it back in ``X-Correlation-ID``.
3. ``/metrics`` and the documentation (``/docs``, ``/redoc``, ``/openapi.json``) answer only to the
   networks the settings list (``metrics_allow_from``, ``docs_allow_from``; unset means anyone, an
   empty list nobody); anyone else gets a 404, as if the page did not exist.
4. Every answer gets the security headers of ``backoffice_common.hardening`` that the route did not
   set itself, and no ``server`` header.
5. Each request is counted in ``backoffice_http_requests_total`` and timed in
   ``backoffice_http_request_duration_seconds`` by route template (``unmatched`` when no route
   matched), method and status (500 when no answer was started).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Sequence
from ipaddress import ip_address
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backoffice_common import metrics
from backoffice_common.hardening import API_POLICY, DOCS_PATHS, DOCS_POLICY, METRICS_PATHS, Network, matches
from backoffice_common.problems import problem_response

CORRELATION_HEADER = "x-correlation-id"
_CORRELATION = CORRELATION_HEADER.encode()
_VALID_CORRELATION = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_SERVER = b"server"


def _security_headers(policy: str) -> tuple[tuple[bytes, bytes], ...]:
    return (
        (b"x-content-type-options", b"nosniff"),
        (b"content-security-policy", policy.encode()),
        (b"referrer-policy", b"no-referrer"),
        (b"cache-control", b"no-store"),
    )


_API_HEADERS = _security_headers(API_POLICY)
_DOCS_HEADERS = _security_headers(DOCS_POLICY)
# Metric children by label values: ``labels()`` takes a lock and checks its arguments on every call.
# Bounded, since the method is the client's: past the bound a new combination is looked up each time.
_CACHED_LABELS = 2048


class ServiceEdge:
    """ASGI middleware: ``app.add_middleware(ServiceEdge, service=..., metrics_allow_from=..., docs_allow_from=...)``.

    ``security_headers=False`` leaves the headers to the app (an app built outside ``create_service_app``).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        metrics_allow_from: Sequence[Network] | None = None,
        docs_allow_from: Sequence[Network] | None = None,
        security_headers: bool = True,
    ) -> None:
        self.app = app
        self.service = service
        self.rules = [(METRICS_PATHS, metrics_allow_from), (DOCS_PATHS, docs_allow_from)]
        self.security_headers = security_headers
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    def allowed(self, path: str, client: str | None) -> bool:
        for prefixes, networks in self.rules:
            if networks is None or not matches(path, prefixes):
                continue
            try:
                address = ip_address(client or "")
            except ValueError:
                return False
            return any(address in network for network in networks)
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = _correlation_id(scope)
        if _has_nul(scope):
            await _refuse_nul(self._sender(scope, send, correlation_id, [500]), correlation_id)
            return
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        status = [500]
        started = time.perf_counter()
        try:
            path = scope.get("path", "")
            client = scope.get("client")
            sender = self._sender(scope, send, correlation_id, status)
            if self.allowed(path, client[0] if client else None):
                await self.app(scope, receive, sender)
            else:
                response = problem_response(404, "Not Found", "no such page", type="not-found", instance=path)
                await response(scope, receive, sender)
        finally:
            route = scope.get("route")
            self._record(scope.get("method", "GET"), getattr(route, "path", None) or "unmatched", status[0], started)
            structlog.contextvars.clear_contextvars()

    def _sender(self, scope: Scope, send: Send, correlation_id: str, status: list[int]) -> Send:
        """``send`` with the answer's status kept in ``status`` and the correlation and security headers added."""
        defaults: tuple[tuple[bytes, bytes], ...] = ()
        if self.security_headers:
            defaults = _DOCS_HEADERS if matches(scope.get("path", ""), DOCS_PATHS) else _API_HEADERS
        correlation = (_CORRELATION, correlation_id.encode())

        async def sender(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", ()))
                headers.append(correlation)
                if defaults:
                    present = {name for name, _ in headers}
                    headers.extend(header for header in defaults if header[0] not in present)
                    if _SERVER in present:
                        headers = [header for header in headers if header[0] != _SERVER]
                message["headers"] = headers
            await send(message)

        return sender

    def _record(self, method: str, template: str, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        counted_key = (method, template, status)
        counter = self._counted.get(counted_key)
        if counter is None:
            counter = metrics.HTTP_REQUESTS.labels(self.service, method, template, str(status))
            if len(self._counted) < _CACHED_LABELS:
                self._counted[counted_key] = counter
        counter.inc()
        timed_key = (method, template)
        histogram = self._timed.get(timed_key)
        if histogram is None:
            histogram = metrics.HTTP_LATENCY.labels(self.service, method, template)
            if len(self._timed) < _CACHED_LABELS:
                self._timed[timed_key] = histogram
        histogram.observe(elapsed)


class CorrelationMiddleware(ServiceEdge):
    """The correlation id, the NUL refusal and the request metrics alone, for an app that is not a service's."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        super().__init__(app, service=service, security_headers=False)


def _correlation_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == _CORRELATION:
            supplied: str = value.decode("latin-1")
            if supplied and _VALID_CORRELATION.match(supplied):
                return supplied
            break
    return str(uuid.uuid4())


def _has_nul(scope: Scope) -> bool:
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    query = scope.get("query_string", b"")
    return b"%00" in raw_path or b"\x00" in raw_path or b"%00" in query or b"\x00" in query


async def _refuse_nul(send: Send, correlation_id: str) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Bad Request",
            "status": 400,
            "detail": "the URL contains a NUL byte",
            "correlation_id": correlation_id,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = ["CORRELATION_HEADER", "CorrelationMiddleware", "ServiceEdge"]
