"""Tracing without I/O: when it is on, how the trace context moves through an outbox row, log lines."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracer, SpanKind

from backoffice_common.events import KAFKA_HEADERS, structured_headers
from backoffice_common.tracing import (
    add_trace_ids,
    consume_span,
    current_trace_headers,
    end_publish_span,
    service_resource_name,
    start_publish_span,
    tracing_wanted,
)


@pytest.mark.parametrize(
    ("otel_enabled", "environ", "wanted"),
    [
        (False, {}, False),
        (True, {}, True),
        (False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        (False, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        (False, {"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, False),
        (True, {"OTEL_SDK_DISABLED": "true"}, False),
        (False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
    ],
)
def test_tracing_is_on_only_when_configured(otel_enabled: bool, environ: dict[str, str], wanted: bool) -> None:
    assert tracing_wanted(otel_enabled=otel_enabled, environ=environ) is wanted


def test_the_service_name_defaults_to_backoffice_and_the_service() -> None:
    assert service_resource_name("approvals", {}) == "backoffice-approvals"
    assert service_resource_name("approvals", {"OTEL_SERVICE_NAME": "approvals-eu"}) == "approvals-eu"


def recording() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_without_a_current_span_an_outbox_row_gets_no_trace_headers() -> None:
    assert current_trace_headers() == {}
    span, headers = start_publish_span(NoOpTracer(), dict(KAFKA_HEADERS), topic="t", key="k")
    assert headers == KAFKA_HEADERS
    assert not span.get_span_context().is_valid


def test_the_publish_span_continues_the_stored_context_and_hands_its_own_to_the_record() -> None:
    provider, exporter = recording()
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("POST /requests") as request_span:
        stored = {**KAFKA_HEADERS, **current_trace_headers()}
    assert stored["traceparent"].split("-")[1] == format(request_span.get_span_context().trace_id, "032x")

    span, headers = start_publish_span(tracer, stored, topic="backoffice.requests", key="pr-1")
    end_publish_span(span, RuntimeError("broker said no"))
    (published,) = [s for s in exporter.get_finished_spans() if s.name == "backoffice.requests publish"]
    assert published.kind == SpanKind.PRODUCER
    assert published.parent is not None
    assert published.parent.span_id == request_span.get_span_context().span_id
    assert published.status.is_ok is False
    assert headers["traceparent"].split("-")[2] == format(published.context.span_id, "016x")
    record_headers = dict(structured_headers(headers))
    assert record_headers["content-type"] == b"application/cloudevents+json"
    assert set(record_headers) == {"content-type", "traceparent"}

    record = SimpleNamespace(
        topic="backoffice.requests",
        partition=2,
        offset=41,
        key=b"pr-1",
        headers=[(name, value) for name, value in structured_headers(headers)],
    )
    with consume_span(tracer, record, event_id="e-1", event_type="purchase_request.submitted", group="g") as handled:
        log_line = add_trace_ids(None, "info", {"event": "handled"})
    (consumed,) = [s for s in exporter.get_finished_spans() if s.name == "backoffice.requests process"]
    assert consumed.kind == SpanKind.CONSUMER
    assert consumed.parent is not None
    assert consumed.parent.span_id == published.context.span_id
    assert consumed.context.trace_id == request_span.get_span_context().trace_id
    assert consumed.attributes is not None
    assert consumed.attributes["messaging.kafka.offset"] == 41
    assert log_line["trace_id"] == format(handled.get_span_context().trace_id, "032x")
    assert log_line["span_id"] == format(handled.get_span_context().span_id, "016x")


def test_a_record_without_trace_headers_starts_a_new_trace() -> None:
    provider, exporter = recording()
    record = SimpleNamespace(topic="t", partition=0, offset=0, key=None, headers=[("content-type", b"x")])
    with consume_span(provider.get_tracer("test"), record, event_id="e", event_type="a.b", group="g"):
        pass
    (span,) = exporter.get_finished_spans()
    assert span.parent is None


def test_log_lines_outside_a_span_carry_no_trace_ids() -> None:
    structlog.contextvars.clear_contextvars()
    assert "trace_id" not in add_trace_ids(None, "info", {"event": "x"})
