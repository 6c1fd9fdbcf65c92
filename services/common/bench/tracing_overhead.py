"""CPU cost of tracing on the event path, per event (not a test, no I/O).

One event's tracing work: the unit of work reads the current context into the outbox row's
headers, the relay starts and ends a producer span and injects its context, the consumer extracts
it and runs a consumer span. With tracing on, spans go through the SDK's batch processor to an
exporter that drops them (the export itself runs on the processor's thread); the HTTP server span
that would be the parent is measured on its own and subtracted. With tracing off, the relay and
consumer hold the API's no-op tracer.

    .venv/bin/python services/common/bench/tracing_overhead.py
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from types import SimpleNamespace
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import NoOpTracer, Tracer

from backoffice_common.events import KAFKA_HEADERS, structured_headers
from backoffice_common.tracing import consume_span, current_trace_headers, end_publish_span, start_publish_span

EVENTS = 20_000


class Drop(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def one_event(tracer: Tracer, request: Callable[[], AbstractContextManager[Any]]) -> None:
    with request():
        stored = {**KAFKA_HEADERS, **current_trace_headers()}
    span, headers = start_publish_span(tracer, stored, topic="backoffice.requests", key="pr-1")
    end_publish_span(span, None)
    record = SimpleNamespace(
        topic="backoffice.requests", partition=1, offset=7, key=b"pr-1", headers=structured_headers(headers)
    )
    with consume_span(tracer, record, event_id="e", event_type="purchase_request.submitted", group="g"):
        current_trace_headers()


def per_event_us(work: Callable[[], None]) -> float:
    for _ in range(1000):
        work()
    started = time.perf_counter()
    for _ in range(EVENTS):
        work()
    return (time.perf_counter() - started) / EVENTS * 1e6


def main() -> None:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop(), max_queue_size=100_000))
    on = provider.get_tracer("bench")

    def request() -> AbstractContextManager[Any]:
        return on.start_as_current_span("POST /requests/{request_id}/submit")

    def request_only() -> None:
        with request():
            pass

    off = NoOpTracer()
    traced = per_event_us(lambda: one_event(on, request)) - per_event_us(request_only)
    untraced = per_event_us(lambda: one_event(off, contextlib.nullcontext))
    bare = per_event_us(lambda: structured_headers(dict(KAFKA_HEADERS)) and None)
    print(f"tracing on : {traced:6.1f} us per event (producer span + consumer span + context in/out)")
    print(f"tracing off: {untraced - bare:6.1f} us per event (beyond building the record headers)")
    provider.shutdown()


if __name__ == "__main__":
    main()
