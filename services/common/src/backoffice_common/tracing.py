"""OpenTelemetry tracing: HTTP server and client spans, and one trace across Kafka through the outbox.

Tracing is on when ``<P>OTEL_ENABLED`` is true or a standard OTLP endpoint variable is set
(``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), unless
``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none``. Spans go over OTLP/HTTP (protobuf) in
batches; the exporter, the sampler and the batch processor read the other standard ``OTEL_*``
variables. When tracing is off nothing is instrumented: no middleware, no httpx hook, and the
relay and consumer use the API's no-op tracer.

The W3C trace context travels through the outbox: the unit of work stores the current
``traceparent`` (and ``tracestate``) in each outbox row's headers; the relay publishes the row
in a producer span that is a child of that context and replaces the header with its own; the
consumer restores the context from the record headers and handles the event in a consumer span,
inside which the next unit of work stores its context in turn. One trace then runs from the
HTTP request through every service the events reach.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from structlog.typing import EventDict, WrappedLogger

TRACE_HEADERS = ("traceparent", "tracestate")
_PROPAGATOR = TraceContextTextMapPropagator()
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_NOT_TRACED_PATHS = "/healthz,/readyz,/metrics"
_INSTRUMENTATION = "backoffice_common"


def tracing_wanted(*, otel_enabled: bool, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether spans are to be exported: the service setting or a standard OTLP endpoint, not disabled."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return otel_enabled or any(environ.get(name) for name in _ENDPOINT_VARIABLES)


def service_resource_name(service: str, environ: Mapping[str, str] = os.environ) -> str:
    return environ.get("OTEL_SERVICE_NAME") or f"backoffice-{service}"


def make_tracer_provider(service: str) -> TracerProvider:
    """A provider exporting over OTLP/HTTP in batches, configured by the standard ``OTEL_*`` variables."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service_resource_name(service)}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def instrument(app: Any, provider: TracerProvider, *, not_traced: Iterable[str] = ()) -> None:
    """Server spans for the app's requests (not the probes and metrics, nor the paths of ``not_traced``)
    and client spans for httpx, which carry the W3C ``traceparent`` of the current span to the callee.

    The httpx hook is process-wide and installed once; it records through the global provider,
    which the first traced app of the process sets.
    """
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    excluded = os.environ.get("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS") or ",".join([_NOT_TRACED_PATHS, *not_traced])
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls=excluded, exclude_spans=["receive", "send"]
    )
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def tracer_of(provider: TracerProvider | None) -> Tracer:
    """The tracer the relay and consumer record with: the provider's, or the no-op one."""
    if provider is None:
        return trace.NoOpTracer()
    return provider.get_tracer(_INSTRUMENTATION)


def current_trace_headers() -> dict[str, str]:
    """``traceparent`` (and ``tracestate``) of the current span; empty when there is none."""
    if not trace.get_current_span().get_span_context().is_valid:
        return {}
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def start_publish_span(
    tracer: Tracer, headers: Mapping[str, str], *, topic: str, key: str | None
) -> tuple[Span, dict[str, str]]:
    """A producer span, child of the context stored with the outbox row, and the row's headers with
    the trace context replaced by the span's own (so the consumer becomes the span's child)."""
    if isinstance(tracer, trace.NoOpTracer):
        return trace.INVALID_SPAN, dict(headers)
    parent = _PROPAGATOR.extract({k: v for k, v in headers.items() if k in TRACE_HEADERS})
    span = tracer.start_span(
        f"{topic} publish",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes=_messaging_attributes(topic, key, None, operation="publish"),
    )
    if not span.get_span_context().is_valid:
        return span, dict(headers)
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return span, {**{k: v for k, v in headers.items() if k not in TRACE_HEADERS}, **carrier}


def end_publish_span(span: Span, result: object) -> None:
    """End a producer span with the broker's answer (an exception marks it as an error)."""
    if isinstance(result, BaseException):
        span.record_exception(result)
        span.set_status(StatusCode.ERROR, repr(result))
    span.end()


def consumer_context(record_headers: Iterable[tuple[str, bytes]] | None) -> otel_context.Context:
    """The trace context a record carries in its ``traceparent``/``tracestate`` headers."""
    carrier = {
        name: value.decode("latin-1")
        for name, value in (record_headers or ())
        if name in TRACE_HEADERS and isinstance(value, bytes)
    }
    return _PROPAGATOR.extract(carrier)


def consume_span(
    tracer: Tracer, record: Any, *, event_id: str, event_type: str, group: str
) -> AbstractContextManager[Span]:
    """The consumer span a record is handled in (made current): a child of the record's trace context."""
    if isinstance(tracer, trace.NoOpTracer):
        return nullcontext(trace.INVALID_SPAN)
    key = record.key.decode("utf-8", "replace") if isinstance(record.key, bytes) else None
    attributes = _messaging_attributes(record.topic, key, event_id, "process")
    attributes.update(
        {
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            "messaging.consumer.group.name": group,
            "cloudevents.event_type": event_type,
        }
    )
    return tracer.start_as_current_span(
        f"{record.topic} process",
        context=consumer_context(record.headers),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
    )


def _messaging_attributes(topic: str, key: str | None, event_id: str | None, operation: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.operation.type": operation,
    }
    if key is not None:
        attributes["messaging.kafka.message.key"] = key
    if event_id is not None:
        attributes["messaging.message.id"] = event_id
        attributes["cloudevents.event_id"] = event_id
    return attributes


def add_trace_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: ``trace_id`` and ``span_id`` of the current span on every log line."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict
