"""The console is traced like the services: a page's server span continues the browser's (or the Gateway's)
trace, and its call to a service carries that trace in ``traceparent``, so the service's work is part of the
page's trace instead of starting a new one. The service is a real HTTP server on loopback that keeps the
``traceparent`` of every call; spans are recorded by the SDK's in-memory exporter, as OTLP would get them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from backoffice_common.testing import app_client
from backoffice_console.main import create_app
from backoffice_console.sessions import COOKIE, SessionStore
from backoffice_console.settings import Settings

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class Notifications:
    """The vendor directory's ``GET /vendors`` on a real loopback server: an empty list, and what it was sent."""

    def __init__(self) -> None:
        self.traceparents: list[str | None] = []
        received = self.traceparents

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                received.append(self.headers.get("traceparent"))
                body = json.dumps([]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def notifications() -> Iterator[Notifications]:
    service = Notifications()
    thread = threading.Thread(target=service.server.serve_forever, daemon=True)
    thread.start()
    yield service
    service.server.shutdown()
    service.server.server_close()


@pytest.fixture(autouse=True)
def httpx_hook_removed_afterwards() -> Iterator[None]:
    """The httpx hook is process-wide: the tests that follow in this process run without it."""
    yield
    HTTPXClientInstrumentor().uninstrument()


async def test_a_console_page_calls_the_service_inside_the_trace_it_was_asked_in(notifications: Notifications) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "backoffice-console"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(Settings(environment="development", notifications_url=notifications.url), tracer_provider=provider)
    store: SessionStore = app.state.sessions
    session = store.new()
    session.tokens = {"access_token": "token-of-pat"}
    session.claims = {"sub": "pat", "roles": ["procurement"]}

    async with app_client(app, base_url="http://console") as browser:
        browser.cookies.set(COOKIE, session.id)
        page = await browser.get("/vendors", headers={"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"})
        untraced = await browser.get("/healthz")
    assert page.status_code == 200, page.text[:300]
    assert untraced.status_code == 200

    # The service was called once, inside the page's trace, from a span of the console (not the caller's).
    [traceparent] = notifications.traceparents
    assert traceparent is not None
    version, trace_id, parent_span, flags = traceparent.split("-")
    assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
    assert parent_span not in (CALLER_SPAN, "0" * 16)

    provider.force_flush()
    spans = exporter.get_finished_spans()
    [server] = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.name == "GET /vendors"  # the route, not the path a client made up; /healthz is not traced
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == CALLER_SPAN
    assert server.resource.attributes["service.name"] == "backoffice-console"
