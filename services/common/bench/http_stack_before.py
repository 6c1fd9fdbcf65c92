"""The HTTP stack as it was before the fifth round (copied from commit 8b3c47d), to measure the new one
against (not a test): four pure-ASGI middlewares, one after the other, each with its own wrapper of
``send``, and the body-size limit wrapping ``receive`` and ``send`` on every request."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from ipaddress import ip_address
from typing import Any

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backoffice_common import metrics
from backoffice_common.hardening import API_POLICY, DOCS_PATHS, DOCS_POLICY, METRICS_PATHS, Network
from backoffice_common.limits import BodySizeLimit as NewBodySizeLimit
from backoffice_common.problems import problem_response

CORRELATION_HEADER = "x-correlation-id"
_VALID_CORRELATION = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


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


class CorrelationMiddleware:
    """Binds the request's correlation id (from ``X-Correlation-ID`` or new) and records metrics."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = None
        for name, value in scope.get("headers", []):
            if name == CORRELATION_HEADER.encode():
                supplied = value.decode("latin-1")
                break
        correlation_id = supplied if supplied and _VALID_CORRELATION.match(supplied) else str(uuid.uuid4())
        if _has_nul(scope):
            # PostgreSQL refuses NUL in text; refuse it here, once, for every path and query parameter.
            await _refuse_nul(send, correlation_id)
            return
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        status = 500
        started = time.perf_counter()

        async def send_with_header(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((CORRELATION_HEADER.encode(), correlation_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            metrics.HTTP_REQUESTS.labels(self.service, method, template, str(status)).inc()
            metrics.HTTP_LATENCY.labels(self.service, method, template).observe(time.perf_counter() - started)
            structlog.contextvars.clear_contextvars()


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
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (CORRELATION_HEADER.encode(), correlation_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    """Raised inside ``receive`` once a streamed body passes the limit."""


class BodySizeLimit:
    """ASGI middleware: ``app.add_middleware(BodySizeLimit, max_bytes=..., per_path={"/prefix": n})``."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, per_path: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Longest prefix first, so "/contracts/verify" wins over "/contracts".
        self.per_path = sorted((per_path or {}).items(), key=lambda item: len(item[0]), reverse=True)

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.per_path:
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(scope, receive, send, limit)
            return
        seen = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                exceeded = True
                raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the application's answer to a truncated body; the 413 below replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _refuse(scope, receive, send, limit)


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = problem_response(
        413,
        "Content Too Large",
        f"the request body is larger than {limit} bytes",
        type="body-too-large",
        instance=scope.get("path"),
    )
    await response(scope, receive, send)


def old_stack(app: Any, settings: Any, spec: Any) -> None:
    """Put back ``app``'s middlewares as ``backoffice_common.app`` added them before this round."""
    app.user_middleware = [
        m for m in app.user_middleware if m.cls.__module__ not in ("backoffice_common.edge", "backoffice_common.limits")
    ]
    assert not app.user_middleware, app.user_middleware
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, per_path=spec.body_limits)
    app.add_middleware(
        OperationalAccess, metrics_allow_from=settings.metrics_allow_from, docs_allow_from=settings.docs_allow_from
    )
    app.add_middleware(CorrelationMiddleware, service=spec.name)
    app.add_middleware(SecurityHeaders)
    assert NewBodySizeLimit is not BodySizeLimit
