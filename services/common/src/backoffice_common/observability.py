"""JSON logs that carry the correlation id and trace ids, and the HTTP middleware that binds it and counts requests."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.typing import Processor

from backoffice_common import metrics
from backoffice_common.tracing import add_trace_ids

CORRELATION_HEADER = "x-correlation-id"
_VALID_CORRELATION = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


class RepeatedLogFilter(logging.Filter):
    """One line per interval for each kind of message of a noisy library, with the count of the rest.

    While a broker is down, aiokafka logs every failed connection attempt of every client (thousands
    of lines a minute). The first record of a kind (logger and message template) passes; the same
    kind is then held back until ``interval`` seconds have passed, and the next one that passes says
    how many were held back.
    """

    def __init__(
        self,
        prefixes: tuple[str, ...] = ("aiokafka", "kafka"),
        *,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._prefixes = prefixes
        self._interval = interval
        self._clock = clock
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._prefixes):
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        with self._lock:
            started, held_back = self._windows.get(key, (float("-inf"), 0))
            if now - started < self._interval:
                self._windows[key] = (started, held_back + 1)
                return False
            if len(self._windows) > 1000:
                self._windows.clear()
            self._windows[key] = (now, 0)
        if held_back:
            record.msg = f"{record.getMessage()} [and {held_back} more like this since the previous line]"
            record.args = None
        return True


def configure_logging(*, level: str = "INFO", json: bool = True) -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RepeatedLogFilter())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


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
