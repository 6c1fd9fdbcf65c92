"""Security headers on every answer and the operational pages restricted by configuration, through an
app built by ``create_service_app`` and driven over ASGI (no lifespan: no database or Kafka needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import ip_network
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import HTMLResponse

from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_common.db import new_metadata
from backoffice_common.hardening import API_POLICY, DOCS_POLICY
from backoffice_common.messaging import messaging_tables
from backoffice_common.settings import ServiceSettings

SECRET = "s" * 40


def build(**settings: Any) -> FastAPI:
    router = APIRouter()

    @router.get("/page", response_class=HTMLResponse)
    async def page() -> str:
        return "<p>an order</p>"

    @router.get("/file.pdf")
    async def pdf() -> Response:
        return Response(b"%PDF-1.7", media_type="application/pdf", headers={"Cache-Control": "private, no-store"})

    spec = ServiceSpec(
        name="demo",
        title="Demo",
        description="Demo",
        version="0",
        tables=messaging_tables(new_metadata()),
        routers=[router],
    )
    return create_service_app(spec, ServiceSettings(jwt_secret=SECRET, **settings))


@asynccontextmanager
async def client_from(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.test") as client:
        yield client


async def test_pages_downloads_and_problems_carry_the_browser_security_headers() -> None:
    async with client_from(build(), "127.0.0.1") as client:
        for path, status in (("/page", 200), ("/file.pdf", 200), ("/nowhere", 404), ("/healthz", 200)):
            r = await client.get(path)
            assert r.status_code == status, path
            assert r.headers["x-content-type-options"] == "nosniff", path
            assert r.headers["content-security-policy"] == API_POLICY, path
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
            assert r.headers["referrer-policy"] == "no-referrer", path
            assert "no-store" in r.headers["cache-control"], path
            assert "server" not in r.headers, path
        pdf = await client.get("/file.pdf")
        assert pdf.headers["cache-control"] == "private, no-store"  # a route's own value is kept


async def test_the_documentation_pages_get_a_policy_that_lets_swagger_ui_run_from_this_origin() -> None:
    async with client_from(build(), "127.0.0.1") as client:
        r = await client.get("/docs")
        assert r.status_code == 200
        assert r.headers["content-security-policy"] == DOCS_POLICY
        assert "frame-ancestors 'none'" in DOCS_POLICY


async def test_metrics_and_docs_answer_everyone_unless_restricted() -> None:
    async with client_from(build(), "203.0.113.9") as client:
        assert (await client.get("/metrics")).status_code == 200
        assert (await client.get("/openapi.json")).status_code == 200


async def test_metrics_and_docs_answer_only_the_configured_networks() -> None:
    app = build(metrics_allow_from=[ip_network("10.0.0.0/8")], docs_allow_from=[ip_network("127.0.0.1/32")])
    async with client_from(app, "10.1.2.3") as inside:
        assert (await inside.get("/metrics")).status_code == 200
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/assets/swagger-ui.css"):
            r = await inside.get(path)
            assert r.status_code == 404, path
            assert r.headers["content-type"] == "application/problem+json"
        assert (await inside.get("/page")).status_code == 200
    async with client_from(app, "127.0.0.1") as local:
        assert (await local.get("/metrics")).status_code == 404
        assert (await local.get("/docs")).status_code == 200
        assert (await local.get("/openapi.json")).json()["info"]["title"] == "Demo"


async def test_an_empty_list_closes_the_page_to_everyone(monkeypatch: Any) -> None:
    monkeypatch.setenv("BACKOFFICE_METRICS_ALLOW_FROM", "[]")
    monkeypatch.setenv("BACKOFFICE_DOCS_ALLOW_FROM", '["::1/128"]')
    settings = ServiceSettings(jwt_secret=SECRET)
    assert settings.metrics_allow_from == []
    assert settings.docs_allow_from == [ip_network("::1/128")]
    async with client_from(build(metrics_allow_from=[]), "127.0.0.1") as client:
        assert (await client.get("/metrics")).status_code == 404


async def test_a_nul_byte_in_any_url_is_a_documented_400_problem() -> None:
    """Even an operation without parameters answers a NUL in an unknown query parameter with 400, so its
    document lists 400 (a client generated from it must expect the answer)."""
    async with client_from(build(), "127.0.0.1") as client:
        r = await client.get("/page", params={"x": "\x00"})
        assert r.status_code == 400
        assert r.headers["content-type"] == "application/problem+json"
        document = (await client.get("/openapi.json")).json()
    for path in ("/page", "/file.pdf", "/healthz"):
        if path in document["paths"]:
            assert "400" in document["paths"][path]["get"]["responses"], path
    assert "400" in document["paths"]["/page"]["get"]["responses"]
