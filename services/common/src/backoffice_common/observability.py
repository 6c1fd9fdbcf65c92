"""JSON logs that carry the correlation id and trace ids (the id is bound per request by ``backoffice_common.edge``)."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable

import structlog
from structlog.typing import Processor

from backoffice_common.edge import CORRELATION_HEADER, CorrelationMiddleware
from backoffice_common.tracing import add_trace_ids


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


__all__ = ["CORRELATION_HEADER", "CorrelationMiddleware", "RepeatedLogFilter", "configure_logging"]
