"""Refuse request bodies above a size before anything reads them whole (413 problem).

A declared ``Content-Length`` is checked first, so an oversized body is refused without reading a
byte of it; within the limit nothing more is done, since the server frames the body by that length
(it never hands the application more). A body without one (chunked) is counted while the
application streams it; once it passes the limit, reading stops and the answer is a 413, whatever
the application was about to say about the truncated body. A request with neither a length nor
``Transfer-Encoding`` has no body (RFC 9112, 6.3) and passes as it is. The limit is per path
prefix where a route needs more or less than the service's default (the longest matching prefix
wins).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backoffice_common.problems import problem_response

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


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
        declared: bytes | None = None
        chunked = False
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                declared = value  # the last one, as a dict of the headers would have it
            elif name == b"transfer-encoding":
                chunked = True
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                await _refuse(scope, receive, send, limit)
                return
            if not chunked:
                await self.app(scope, receive, send)
                return
        elif not chunked:
            await self.app(scope, receive, send)
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


__all__ = ["DEFAULT_MAX_BODY_BYTES", "BodySizeLimit", "BodyTooLarge"]
