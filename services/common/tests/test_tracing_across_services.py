"""One trace across three services built with create_service_app, on the real PostgreSQL and Kafka.

alpha answers ``POST /orders`` and publishes ``order.placed``; beta consumes it and publishes
``order.checked``; gamma consumes that, calls a real HTTP server with httpx and publishes
``order.closed``. Every span is recorded by the SDK's in-memory exporter, through one tracer
provider per service (its own ``service.name``), exactly as the OTLP exporter would receive them.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from common_testkit import read_topic
from fastapi import APIRouter, FastAPI
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic_settings import SettingsConfigDict
from sqlalchemy.ext.asyncio import create_async_engine

from backoffice_common.app import ServiceSpec, UowDep, create_service_app
from backoffice_common.consumer import Handler
from backoffice_common.db import new_metadata
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.messaging import create_messaging_tables, messaging_tables
from backoffice_common.settings import ServiceSettings
from backoffice_common.testing import app_client, eventually, private_database, unique_prefix
from backoffice_common.uow import UnitOfWork

EXPORTER = InMemorySpanExporter()


@pytest.fixture(autouse=True)
def httpx_hook_removed_afterwards() -> Iterator[None]:
    """The httpx hook is process-wide: the tests that follow in this process run without it."""
    yield
    HTTPXClientInstrumentor().uninstrument()


class TraceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRACEDEMO_", extra="ignore")


def provider_for(service: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": f"backoffice-{service}"}))
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    return provider


class VendorEndpoint:
    """A real HTTP server on loopback that keeps the ``traceparent`` header of every call."""

    def __init__(self) -> None:
        self.traceparents: list[str | None] = []
        received = self.traceparents

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(self.headers.get("traceparent"))
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    @contextmanager
    def running(self) -> Iterator[VendorEndpoint]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


def relaying(name: str, produces: str, *, to: str, call: str | None = None) -> Handler:
    async def handle(event: CloudEvent, uow: UnitOfWork) -> None:
        if call is not None:
            async with httpx.AsyncClient() as client:
                (await client.post(call, json={"event": event.id})).raise_for_status()
        uow.publish(new_event(type=produces, service=name, subject=event.subject, data={}, cause=event), topic=to)

    return handle


def spec(name: str, **kwargs: object) -> ServiceSpec:
    return ServiceSpec(
        name=name, title=name, description=name, version="0", tables=messaging_tables(new_metadata()), **kwargs
    )  # type: ignore[arg-type]


def alpha_spec() -> ServiceSpec:
    router = APIRouter()

    @router.post("/orders/{order_id}", status_code=202)
    async def place(order_id: str, uow: UowDep) -> dict[str, str]:
        event = new_event(type="order.placed", service="alpha", subject=order_id, data={})
        uow.publish(event, topic="trace.a")
        await uow.commit()
        return {"event_id": event.id}

    return spec("alpha", routers=[router], publishes=["trace.a"])


@asynccontextmanager
async def running(
    name: str, service_spec: ServiceSpec, prefix: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with private_database() as url:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(create_messaging_tables)
        await engine.dispose()
        settings = TraceSettings(
            service_name=name,
            database_url=url,
            kafka_bootstrap_servers=os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"],
            kafka_topic_prefix=prefix,
            outbox_poll_interval_seconds=0.5,
            jwt_secret="s" * 40,
        )
        app = create_service_app(service_spec, settings, tracer_provider=provider_for(name))
        async with app_client(app) as client:
            yield app, client


def one(spans: list[ReadableSpan], *, name: str, kind: SpanKind) -> ReadableSpan:
    found = [s for s in spans if s.name == name and s.kind == kind]
    assert len(found) == 1, f"{len(found)} spans named {name!r} ({kind}) among {[s.name for s in spans]}"
    return found[0]


def sampled_parent(traceparent: str | None) -> tuple[int, int]:
    """(trace id, parent span id) of a W3C ``traceparent``, which must have the sampled flag."""
    assert traceparent is not None
    version, trace_id, span_id, flags = traceparent.split("-")
    assert version == "00", traceparent
    assert int(flags, 16) & 1, traceparent
    return int(trace_id, 16), int(span_id, 16)


def service_of(span: ReadableSpan) -> object:
    return span.resource.attributes.get("service.name")


async def test_one_trace_runs_from_the_http_request_through_every_service_the_events_reach() -> None:
    EXPORTER.clear()
    prefix = unique_prefix()
    order = f"order-{prefix.strip('.')}"
    with VendorEndpoint().running() as vendor:
        async with AsyncExitStack() as stack:
            gamma_spec = spec(
                "gamma",
                publishes=["trace.c"],
                consumes=["trace.b"],
                handlers={"order.checked": relaying("gamma", "order.closed", to="trace.c", call=vendor.url)},
            )
            beta_spec = spec(
                "beta",
                publishes=["trace.b"],
                consumes=["trace.a"],
                handlers={"order.placed": relaying("beta", "order.checked", to="trace.b")},
            )
            await stack.enter_async_context(running("gamma", gamma_spec, prefix))
            await stack.enter_async_context(running("beta", beta_spec, prefix))
            _, alpha = await stack.enter_async_context(running("alpha", alpha_spec(), prefix))

            answer = await alpha.post(f"/orders/{order}")
            assert answer.status_code == 202, answer.text
            records = await read_topic(os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"], f"{prefix}trace.c", expected=1)
            assert len(records) == 1

            def spans_named(name: str) -> list[ReadableSpan]:
                return [s for s in EXPORTER.get_finished_spans() if s.name == name]

            async def closed_span_ended() -> bool:
                return bool(spans_named(f"{prefix}trace.c publish"))

            await eventually(closed_span_ended, timeout=30)

    spans = list(EXPORTER.get_finished_spans())
    server = one(spans, name="POST /orders/{order_id}", kind=SpanKind.SERVER)
    publish_a = one(spans, name=f"{prefix}trace.a publish", kind=SpanKind.PRODUCER)
    process_a = one(spans, name=f"{prefix}trace.a process", kind=SpanKind.CONSUMER)
    publish_b = one(spans, name=f"{prefix}trace.b publish", kind=SpanKind.PRODUCER)
    process_b = one(spans, name=f"{prefix}trace.b process", kind=SpanKind.CONSUMER)
    webhook = one(spans, name="POST", kind=SpanKind.CLIENT)
    publish_c = one(spans, name=f"{prefix}trace.c publish", kind=SpanKind.PRODUCER)

    chain = [server, publish_a, process_a, publish_b, process_b, webhook]
    trace_id = server.context.trace_id
    assert server.parent is None
    assert {s.context.trace_id for s in [*chain, publish_c]} == {trace_id}
    for parent, child in itertools.pairwise(chain):
        parent_id = child.parent.span_id if child.parent else None
        assert parent_id == parent.context.span_id, (parent.name, child.name)
    assert publish_c.parent is not None
    assert publish_c.parent.span_id == process_b.context.span_id
    assert [service_of(s) for s in (server, publish_a, process_a, publish_b, process_b, publish_c)] == [
        "backoffice-alpha",
        "backoffice-alpha",
        "backoffice-beta",
        "backoffice-beta",
        "backoffice-gamma",
        "backoffice-gamma",
    ]
    assert process_a.attributes is not None
    assert process_a.attributes["cloudevents.event_type"] == "order.placed"
    assert process_a.attributes["messaging.message.id"] == answer.json()["event_id"]

    # What the other side saw: the vendor's HTTP server got the client span's context, and the
    # record on Kafka carries the producer span's context next to the structured-mode content type.
    assert [sampled_parent(t) for t in vendor.traceparents] == [(trace_id, webhook.context.span_id)]
    _, _, headers = records[0]
    assert sampled_parent(headers["traceparent"].decode()) == (trace_id, publish_c.context.span_id)
    assert headers["content-type"] == b"application/cloudevents+json"
    assert not [name for name in headers if name.lower().startswith("ce_")]
