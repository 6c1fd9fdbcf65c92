"""The one ASGI layer in front of a service's routes: what every answer carries, in order, and what it
counts, through an app built by ``create_service_app`` and driven over ASGI (no lifespan needed)."""

from __future__ import annotations

import uuid
from ipaddress import ip_network
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Response
from prometheus_client import REGISTRY

from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_common.db import new_metadata
from backoffice_common.edge import ServiceEdge
from backoffice_common.hardening import API_POLICY
from backoffice_common.limits import BodySizeLimit
from backoffice_common.messaging import messaging_tables
from backoffice_common.settings import ServiceSettings

SECURITY = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", API_POLICY.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


def build(name: str, **settings: Any) -> FastAPI:
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: int) -> Response:
        return Response(b'{"ok":true}', media_type="application/json", headers={"Server": "leaky", "ETag": '"1"'})

    @router.get("/fails")
    async def fails() -> None:
        raise RuntimeError("boom")

    spec = ServiceSpec(
        name=name,
        title="Demo",
        description="Demo",
        version="0",
        tables=messaging_tables(new_metadata()),
        routers=[router],
    )
    return create_service_app(spec, ServiceSettings(jwt_secret="s" * 40, **settings))


async def raw_answer(app: FastAPI, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, Any]:
    """Status and the raw header list as the server would write them."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers or [],
        "client": ("10.1.2.3", 40000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], start["headers"]


def counted(service: str, route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "backoffice_http_requests_total", {"service": service, "method": "GET", "route": route, "status": status}
    )
    return value or 0.0


def test_a_service_app_has_one_layer_of_its_own_before_the_body_limit() -> None:
    app = build("edge-layers")
    assert [m.cls for m in app.user_middleware] == [ServiceEdge, BodySizeLimit]


async def test_an_answer_keeps_the_routes_headers_then_the_correlation_id_then_the_missing_security_headers() -> None:
    app = build("edge-order")
    status, headers = await raw_answer(app, "/things/7", [(b"x-correlation-id", b"order-42")])
    assert status == 200
    assert headers == [
        (b"etag", b'"1"'),
        (b"content-length", b"11"),
        (b"content-type", b"application/json"),
        (b"x-correlation-id", b"order-42"),
        *SECURITY,
    ]  # and the route's own Server header is gone


async def test_a_malformed_correlation_id_is_replaced_by_a_new_one() -> None:
    _, headers = await raw_answer(build("edge-malformed"), "/things/7", [(b"x-correlation-id", b"bad id\x01")])
    [correlation] = [value for name, value in headers if name == b"x-correlation-id"]
    assert uuid.UUID(correlation.decode()).version == 4


async def test_a_nul_refusal_and_an_operational_refusal_carry_the_same_headers_as_any_answer() -> None:
    app = build("edge-refusals", metrics_allow_from=[ip_network("127.0.0.0/8")])
    status, headers = await raw_answer(app, "/things/%00", [(b"x-correlation-id", b"nul-1")])
    assert status == 400
    assert [name for name, _ in headers] == [b"content-type", b"content-length", b"x-correlation-id"] + [
        name for name, _ in SECURITY
    ]
    status, headers = await raw_answer(app, "/metrics", [(b"x-correlation-id", b"metrics-1")])
    assert status == 404  # from 10.1.2.3, not in the allowed network
    assert headers[-5:] == [(b"x-correlation-id", b"metrics-1"), *SECURITY]


async def test_every_request_is_counted_by_route_template_and_status_including_failures_and_refusals() -> None:
    service = "edge-metrics"
    app = build(service, metrics_allow_from=[ip_network("127.0.0.0/8")])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("10.1.2.3", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.test") as client:
        for thing in (1, 2, 3):
            assert (await client.get(f"/things/{thing}")).status_code == 200
        assert (await client.get("/things/not-a-number")).status_code == 422
        assert (await client.get("/fails")).status_code == 500
        assert (await client.get("/metrics")).status_code == 404
    assert counted(service, "/things/{thing_id}", "200") == 3
    assert counted(service, "/things/{thing_id}", "422") == 1
    assert counted(service, "/fails", "500") == 1
    assert counted(service, "unmatched", "404") == 1
    latency = REGISTRY.get_sample_value(
        "backoffice_http_request_duration_seconds_count",
        {"service": service, "method": "GET", "route": "/things/{thing_id}"},
    )
    assert latency == 4
