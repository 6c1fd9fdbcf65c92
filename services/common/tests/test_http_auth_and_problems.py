"""JWT authentication and RFC 9457 problem answers, over HTTP through the ASGI app."""

from __future__ import annotations

import time
from typing import Annotated

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from backoffice_common.auth import Authenticator, CurrentUser, User, mint_token, require_roles
from backoffice_common.observability import CorrelationMiddleware
from backoffice_common.problems import Problem, install_problem_handlers
from backoffice_common.settings import ServiceSettings

SECRET = "test-secret-that-is-long-enough-for-hs256"


class Line(BaseModel):
    quantity: int = Field(gt=0)


class Order(BaseModel):
    lines: list[Line]


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(CorrelationMiddleware, service="demo")
    app.state.authenticator = Authenticator(ServiceSettings(jwt_secret=SECRET))

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, object]:
        return {"sub": user.sub, "roles": sorted(user.roles)}

    @app.post("/admin-only")
    async def admin_only(user: Annotated[User, Depends(require_roles("admin"))]) -> dict[str, str]:
        return {"ok": user.sub}

    @app.post("/orders")
    async def orders(order: Order) -> dict[str, int]:
        return {"lines": len(order.lines)}

    @app.get("/conflict")
    async def conflict() -> None:
        raise Problem(409, "Conflict", "the request is in state draft", type="illegal-transition", allowed=["submit"])

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    return app


@pytest.fixture
async def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c  # type: ignore[misc]


def token(**overrides: object) -> str:
    # A day: the parametrized tokens are made at collection, maybe minutes before their test runs.
    claims = {"sub": "alice", "roles": ["requester"], "aud": "backoffice", "exp": int(time.time()) + 86400}
    claims.update(overrides)
    return jwt.encode(claims, SECRET, algorithm="HS256")


def bearer(t: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {t}"}


async def test_a_valid_token_identifies_the_user(client: httpx.AsyncClient) -> None:
    t = mint_token(secret=SECRET, sub="alice", roles=["requester", "made-up"])
    r = await client.get("/me", headers=bearer(t))
    assert r.status_code == 200
    assert r.json() == {"sub": "alice", "roles": ["requester"]}


async def test_finance_and_hr_roles_are_kept(client: httpx.AsyncClient) -> None:
    t = mint_token(secret=SECRET, sub="fiona", roles=["finance", "hr", "made-up"])
    r = await client.get("/me", headers=bearer(t))
    assert r.status_code == 200
    assert r.json() == {"sub": "fiona", "roles": ["finance", "hr"]}


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "bearer token is required"),
        (bearer(token(exp=int(time.time()) - 3600)), "expired"),
        (
            bearer(
                jwt.encode(
                    {"sub": "a", "aud": "backoffice", "exp": int(time.time()) + 86400, "roles": ["admin"]},
                    "other-secret-other-secret-other-secret",
                    algorithm="HS256",
                )
            ),
            "signature",
        ),
        (bearer(token(aud="somebody-else")), "audience"),
        (bearer("not.a.jwt"), "invalid"),
        ({"Authorization": "Basic YWxpY2U6c2VjcmV0"}, "bearer token is required"),
    ],
)
async def test_missing_expired_forged_and_foreign_tokens_get_401(
    client: httpx.AsyncClient, headers: dict[str, str], detail: str
) -> None:
    r = await client.get("/me", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == "Bearer"
    assert detail in r.json()["detail"]


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"email": "alice@example.com\r\nBcc: everyone@example.com"}, "email claim"),
        ({"email": "alice@example.com\n"}, "email claim"),
        ({"email": ["alice@example.com"]}, "email claim"),
        ({"name": "Alice\r\nX-Injected: 1"}, "name claim"),
        ({"sub": "alice\n"}, "sub claim"),
    ],
)
async def test_claims_with_line_breaks_or_control_characters_are_refused_at_the_edge(
    client: httpx.AsyncClient, claims: dict[str, object], detail: str
) -> None:
    r = await client.get("/me", headers=bearer(token(**claims)))
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert detail in r.json()["detail"]


async def test_a_valid_token_without_the_needed_role_gets_403(client: httpx.AsyncClient) -> None:
    r = await client.post("/admin-only", headers=bearer(mint_token(secret=SECRET, sub="bob", roles=["approver"])))
    assert r.status_code == 403
    assert "admin" in r.json()["detail"]
    ok = await client.post("/admin-only", headers=bearer(mint_token(secret=SECRET, sub="root", roles=["admin"])))
    assert ok.status_code == 200


async def test_validation_errors_are_422_problems_with_field_paths(client: httpx.AsyncClient) -> None:
    r = await client.post("/orders", json={"lines": [{"quantity": 1}, {"quantity": -2}]})
    assert r.status_code == 422
    body = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert body["status"] == 422
    assert body["errors"][0]["location"] == "body.lines[1].quantity"


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe\x00", b""])
async def test_unparseable_bodies_are_4xx_problems(client: httpx.AsyncClient, raw: bytes) -> None:
    r = await client.post("/orders", content=raw, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"] == "application/problem+json"


async def test_domain_problems_carry_their_extensions(client: httpx.AsyncClient) -> None:
    r = await client.get("/conflict", headers={"X-Correlation-ID": "abc-123"})
    assert r.status_code == 409
    body = r.json()
    assert body["allowed"] == ["submit"]
    assert body["type"].endswith("/illegal-transition")
    assert body["correlation_id"] == "abc-123"
    assert r.headers["x-correlation-id"] == "abc-123"


async def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing(client: httpx.AsyncClient) -> None:
    r = await client.get("/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert "secret internals" not in r.text


async def test_unknown_routes_are_404_problems(client: httpx.AsyncClient) -> None:
    r = await client.get("/nowhere")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("url", ["/orders%00", "/me?x=a%00b"])
async def test_a_nul_byte_in_the_path_or_query_is_a_400_problem(client: httpx.AsyncClient, url: str) -> None:
    r = await client.get(url)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert "NUL" in r.json()["detail"]


def test_an_event_created_while_handling_a_request_carries_its_correlation_id() -> None:
    import structlog

    from backoffice_common.events import new_event

    structlog.contextvars.bind_contextvars(correlation_id="req-42")
    try:
        event = new_event(type="thing.happened", service="demo", subject="s", data={})
    finally:
        structlog.contextvars.clear_contextvars()
    assert event.correlationid == "req-42"


async def test_a_verified_token_is_remembered_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    authenticator = Authenticator(ServiceSettings(jwt_secret=SECRET, jwt_leeway_seconds=0))
    token = mint_token(secret=SECRET, sub="alice", roles=["admin"], ttl_seconds=2)
    first = await authenticator.authenticate(token)
    assert first.sub == "alice"
    assert first.roles == frozenset({"admin"})

    def no_second_check(*args: object, **kwargs: object) -> None:
        raise AssertionError("the remembered token was verified again")

    with monkeypatch.context() as patched:
        patched.setattr(jwt, "decode", no_second_check)
        assert await authenticator.authenticate(token) is first
    # Another token (another signature) is verified on its own; a forged one is refused.
    forged = mint_token(secret="another-secret-that-is-long-enough-for-hs256", sub="alice", roles=["admin"])
    with pytest.raises(Problem) as refused:
        await authenticator.authenticate(forged)
    assert refused.value.status == 401
    # Past its expiry the remembered token is verified again, and refused.
    time.sleep(max(0.0, int(time.time()) + 2 - time.time()) + 1.1)
    with pytest.raises(Problem) as expired:
        await authenticator.authenticate(token)
    assert "expired" in str(expired.value.detail)
