"""Every operation of every service that takes a body refuses one above its limit before anything reads
it whole and before authentication: with a declared length without reading a byte, and while a
chunked body streams, after at most the limit (plus the chunk that passed it).

The services' own apps are driven in-process over ASGI without their lifespan: no database, broker
or login is reached, which is the point.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.limits import BodySizeLimit

SERVICES = ("requests", "approvals", "notifications", "contracts", "insights", "budgets", "checklists")
CHUNK = 64 * 1024


def build(service: str) -> FastAPI:
    main = importlib.import_module(f"backoffice_{service}.main")
    app: FastAPI = main.create_app()
    # What the lifespan would set up. Building a unit of work opens no connection, and the database
    # named here does not exist: a route that got as far as using it would fail the test with a 500.
    sessions = make_session_factory(make_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none"))
    settings = importlib.import_module(f"backoffice_{service}.settings").Settings()
    extra = [app.state.documents, app.state.object_store] if service == "contracts" else []
    spec = main.build_spec(settings, *extra)
    app.state.uow_factory = lambda: spec.uow_class(sessions, tables=spec.tables, service=service)
    return app


def limit_for(app: FastAPI, path: str) -> int:
    [middleware] = [m for m in app.user_middleware if m.cls is BodySizeLimit]
    return BodySizeLimit(app, **middleware.kwargs).limit_for(path)  # type: ignore[arg-type]


def with_body(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for path, item in app.openapi()["paths"].items():
        for method, spec in item.items():
            if isinstance(spec, dict) and "requestBody" in spec:
                found.append((method.upper(), path.replace("{", "").replace("}", "")))
    return found


@pytest.mark.parametrize("service", SERVICES)
async def test_an_oversized_body_is_refused_unread_and_unauthenticated_on_every_operation(service: str) -> None:
    app = build(service)
    operations = with_body(app)
    if service != "insights":
        assert operations, f"{service} has no operation with a body"
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc.test") as client:
        for method, path in operations:
            limit = limit_for(app, path)
            declared = await client.request(
                method,
                path,
                content=b"{}",
                headers={"content-length": str(limit + 1), "content-type": "application/json"},
            )
            assert declared.status_code == 413, f"{method} {path}: {declared.status_code} {declared.text[:200]}"
            assert declared.headers["content-type"] == "application/problem+json"
            sent = 0

            async def body(limit: int = limit) -> AsyncIterator[bytes]:
                nonlocal sent
                while sent <= limit + 10 * CHUNK:
                    sent += CHUNK
                    yield b" " * CHUNK

            streamed = await client.request(method, path, content=body(), headers={"content-type": "application/json"})
            # Refused at the limit (413), or before the body was read (401 without a login, 415 for the media type).
            assert streamed.status_code in (401, 413, 415), f"{method} {path}: {streamed.status_code}"
            assert sent <= limit + 2 * CHUNK, f"{method} {path}: {sent} bytes read of a {limit}-byte limit"
