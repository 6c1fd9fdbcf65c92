"""The error path, the body-size limit and the settings dependencies, through an app built by
``create_service_app`` and driven over ASGI by httpx (no lifespan: no database or Kafka needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict

from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_common.auth import CurrentUser, mint_token
from backoffice_common.db import new_metadata
from backoffice_common.deps import SettingsDep, settings_of
from backoffice_common.errors import (
    GENERIC_ERRORS,
    AppError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ProblemType,
    TooLarge,
    Unavailable,
    problem_type_of,
)
from backoffice_common.messaging import messaging_tables
from backoffice_common.problems import PROBLEM_BASE
from backoffice_common.settings import ServiceSettings

SECRET = "s" * 40


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")
    greeting: str = "hello"


class VendorBlocked(Conflict):
    """A service's own refusal, mapped in the service's map."""


class VendorBlockedForever(VendorBlocked):
    """Not mapped itself: answered through VendorBlocked (the MRO)."""


class LedgerMissing(NotFound):
    """Not mapped anywhere: answered through the generic NotFound."""


class Item(BaseModel):
    text: str


SERVICE_ERRORS = {VendorBlocked: ProblemType(409, "Vendor blocked", "vendor-blocked")}

RAISES: dict[str, Exception] = {
    "not-found": NotFound("request 7 does not exist"),
    "forbidden": Forbidden("only the requester may do this"),
    "conflict": Conflict("the request is in state draft", current_state="draft", allowed=["submit"]),
    "stale": PreconditionFailed("the request changed since version 3", current_version=4),
    "no-if-match": PreconditionRequired("send If-Match with the version you read"),
    "invalid": Invalid("the amount must be positive", field="lines[0].amount"),
    "too-large": TooLarge("at most 100 lines"),
    "unavailable": Unavailable("the directory is being imported", retry_after=7),
    "blocked": VendorBlocked("vendor v1 is blocked", vendor_id="v1"),
    "blocked-forever": VendorBlockedForever("vendor v2 is blocked for good"),
    "ledger": LedgerMissing("no ledger for 2024"),
    "bare": AppError("something the caller can fix"),
    "reserved": Conflict("extensions cannot overwrite the problem members", status=200, type="x", title="y"),
}


def build(*, max_body_bytes: int = 2048, body_limits: dict[str, int] | None = None) -> tuple[FastAPI, list[str]]:
    reached: list[str] = []
    router = APIRouter()

    @router.get("/raise/{name}")
    async def raise_it(name: str) -> None:
        raise RAISES[name]

    @router.post("/items")
    async def create_item(item: Item) -> dict[str, int]:
        reached.append("items")
        return {"length": len(item.text)}

    @router.post("/uploads/big")
    async def upload(request: Request) -> dict[str, int]:
        reached.append("upload")
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"size": size}

    @router.post("/private")
    async def private(user: CurrentUser, request: Request) -> dict[str, int]:
        reached.append("private")
        return {"size": len(await request.body())}

    @router.get("/settings/shared")
    async def shared(settings: SettingsDep) -> dict[str, Any]:
        return {"class": type(settings).__name__, "max_body_bytes": settings.max_body_bytes}

    @router.get("/settings/own")
    async def own(settings: Annotated[DemoSettings, Depends(settings_of(DemoSettings))]) -> dict[str, str]:
        return {"greeting": settings.greeting}

    spec = ServiceSpec(
        name="demo",
        title="Demo",
        description="Demo",
        version="0",
        tables=messaging_tables(new_metadata()),
        routers=[router],
        problems=SERVICE_ERRORS,
        body_limits=body_limits or {},
    )
    settings = DemoSettings(max_body_bytes=max_body_bytes, jwt_secret=SECRET, greeting="servus")
    return create_service_app(spec, settings), reached


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app, _ = build()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.test") as c:
        yield c


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


@pytest.mark.parametrize(
    ("name", "status", "slug", "title"),
    [
        ("not-found", 404, "not-found", "Not Found"),
        ("forbidden", 403, "forbidden", "Forbidden"),
        ("conflict", 409, "conflict", "Conflict"),
        ("stale", 412, "precondition-failed", "Precondition Failed"),
        ("no-if-match", 428, "precondition-required", "Precondition Required"),
        ("invalid", 422, "validation", "Unprocessable Content"),
        ("too-large", 413, "too-large", "Content Too Large"),
        ("unavailable", 503, "unavailable", "Service Unavailable"),
        ("blocked", 409, "vendor-blocked", "Vendor blocked"),
        ("blocked-forever", 409, "vendor-blocked", "Vendor blocked"),
        ("ledger", 404, "not-found", "Not Found"),
        ("bare", 400, "bad-request", "Bad Request"),
    ],
)
async def test_each_application_error_becomes_its_problem(
    client: httpx.AsyncClient, name: str, status: int, slug: str, title: str
) -> None:
    r = await client.get(f"/raise/{name}", headers={"X-Correlation-ID": "corr-1"})
    body = _problem(r, status)
    assert body["type"] == PROBLEM_BASE + slug
    assert body["title"] == title
    assert body["detail"] == str(RAISES[name])
    assert body["instance"] == f"/raise/{name}"
    assert body["correlation_id"] == "corr-1"


async def test_extensions_travel_with_the_problem_and_cannot_overwrite_its_members(client: httpx.AsyncClient) -> None:
    body = _problem(await client.get("/raise/conflict"), 409)
    assert body["current_state"] == "draft"
    assert body["allowed"] == ["submit"]
    assert _problem(await client.get("/raise/invalid"), 422)["field"] == "lines[0].amount"
    assert _problem(await client.get("/raise/stale"), 412)["current_version"] == 4
    assert _problem(await client.get("/raise/blocked"), 409)["vendor_id"] == "v1"
    reserved = _problem(await client.get("/raise/reserved"), 409)
    assert reserved["type"] == PROBLEM_BASE + "conflict"
    assert reserved["title"] == "Conflict"


async def test_unavailable_says_when_to_retry(client: httpx.AsyncClient) -> None:
    r = await client.get("/raise/unavailable")
    _problem(r, 503)
    assert r.headers["retry-after"] == "7"


def test_the_most_specific_mapped_class_wins_along_the_mro() -> None:
    errors = {**GENERIC_ERRORS, **SERVICE_ERRORS}
    assert problem_type_of(VendorBlockedForever("x"), errors) == SERVICE_ERRORS[VendorBlocked]
    assert problem_type_of(VendorBlocked("x"), errors) == SERVICE_ERRORS[VendorBlocked]
    assert problem_type_of(Conflict("x"), errors) == GENERIC_ERRORS[Conflict]
    assert problem_type_of(LedgerMissing("x"), errors) == GENERIC_ERRORS[NotFound]
    assert problem_type_of(ValueError("x"), errors) is None
    override = {**GENERIC_ERRORS, NotFound: ProblemType(410, "Gone", "gone")}
    assert problem_type_of(LedgerMissing("x"), override) == ProblemType(410, "Gone", "gone")


def test_application_errors_carry_no_http() -> None:
    exc = Invalid("bad amount", field="amount", hint="use a decimal string")
    assert str(exc) == exc.detail == "bad amount"
    assert exc.extensions == {"field": "amount", "hint": "use a decimal string"}
    assert exc.field == "amount"
    assert not any(hasattr(exc, name) for name in ("status", "status_code", "headers"))
    assert Unavailable("later", retry_after=3).retry_after == 3


async def test_other_errors_keep_their_existing_answers(client: httpx.AsyncClient) -> None:
    assert _problem(await client.get("/nowhere"), 404)["type"] == "about:blank"
    assert _problem(await client.post("/items", json={"text": 5}), 422)["type"] == PROBLEM_BASE + "validation"


# --- body-size limit -------------------------------------------------------------------------


async def _chunks(total: int, size: int = 512) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        chunk = b"x" * min(size, total - sent)
        sent += len(chunk)
        yield chunk


async def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo.test")


async def test_a_declared_oversized_body_is_refused_before_the_route_runs() -> None:
    app, reached = build(max_body_bytes=2048)
    async with await _client(app) as c:
        ok = await c.post("/items", json={"text": "x" * 1000})
        assert ok.json() == {"length": 1000}
        r = await c.post("/items", json={"text": "x" * 3000}, headers={"X-Correlation-ID": "big-1"})
        body = _problem(r, 413)
        assert body["type"] == PROBLEM_BASE + "body-too-large"
        assert "2048" in body["detail"]
        assert body["instance"] == "/items"
        assert body["correlation_id"] == "big-1"
        bad_length = await c.post("/items", content=b"{}", headers={"Content-Length": "12abc"})
        _problem(bad_length, 413)
    assert reached == ["items"]


async def test_a_chunked_body_is_counted_while_streaming_and_refused_once_over_the_limit() -> None:
    app, reached = build(max_body_bytes=2048)
    async with await _client(app) as c:
        small = await c.post("/uploads/big", content=_chunks(2000))
        assert small.json() == {"size": 2000}
        r = await c.post("/uploads/big", content=_chunks(10_000))
        _problem(r, 413)
        # A route whose body FastAPI parses: its 400 for the truncated body becomes the 413.
        parsed = await c.post("/items", content=_chunks(5000), headers={"Content-Type": "application/json"})
        _problem(parsed, 413)
    assert reached == ["upload", "upload"]


async def test_a_path_prefix_may_accept_larger_bodies_than_the_default() -> None:
    app, _ = build(max_body_bytes=2048, body_limits={"/uploads": 8192, "/uploads/big": 16_384})
    async with await _client(app) as c:
        assert (await c.post("/uploads/big", content=b"x" * 16_000)).json() == {"size": 16_000}
        assert (await c.post("/uploads/big", content=_chunks(16_000))).json() == {"size": 16_000}
        _problem(await c.post("/uploads/big", content=b"x" * 16_385), 413)
        _problem(await c.post("/items", json={"text": "x" * 3000}), 413)


async def test_an_oversized_body_is_refused_before_authentication() -> None:
    app, reached = build(max_body_bytes=2048)
    async with await _client(app) as c:
        _problem(await c.post("/private", content=b"x" * 100), 401)
        _problem(await c.post("/private", content=b"x" * 5000), 413)
        token = mint_token(secret=SECRET, sub="alice", roles=["requester"])
        ok = await c.post("/private", content=b"x" * 100, headers={"Authorization": f"Bearer {token}"})
        assert ok.json() == {"size": 100}
    assert reached == ["private"]


def test_the_default_limit_is_one_mebibyte() -> None:
    assert ServiceSettings().max_body_bytes == 1024 * 1024


# --- settings dependencies -------------------------------------------------------------------


async def test_the_settings_dependencies_return_the_apps_settings(client: httpx.AsyncClient) -> None:
    assert (await client.get("/settings/shared")).json() == {"class": "DemoSettings", "max_body_bytes": 2048}
    assert (await client.get("/settings/own")).json() == {"greeting": "servus"}


async def test_settings_of_refuses_an_app_built_with_another_settings_class() -> None:
    app, _ = build()
    app.state.settings = ServiceSettings()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://demo.test"
    ) as c:
        assert (await c.get("/settings/shared")).status_code == 200
        _problem(await c.get("/settings/own"), 500)
