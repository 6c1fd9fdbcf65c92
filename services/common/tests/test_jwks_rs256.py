"""RS256 tokens verified through a JWKS URL served by a real local HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm

from backoffice_common.auth import Authenticator, CurrentUser, mint_token
from backoffice_common.problems import install_problem_handlers
from backoffice_common.settings import DEV_JWT_SECRET, ServiceSettings

IDP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ROGUE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    jwk = json.loads(RSAAlgorithm.to_jwk(IDP_KEY.public_key()))
    jwk.update({"kid": "idp-1", "use": "sig", "alg": "RS256"})
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()


def sign(key: rsa.RSAPrivateKey, kid: str = "idp-1", **claims: object) -> str:
    payload = {"sub": "carol", "roles": ["approver"], "aud": "backoffice", "exp": int(time.time()) + 60, **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


async def call(jwks_url: str, token: str, **settings: object) -> httpx.Response:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.authenticator = Authenticator(
        ServiceSettings(jwt_algorithm="RS256", jwt_jwks_url=jwks_url, **settings)  # type: ignore[arg-type]
    )

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, str]:
        return {"sub": user.sub}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/me", headers={"Authorization": f"Bearer {token}"})


async def test_a_token_signed_by_the_identity_providers_key_is_accepted(jwks_url: str) -> None:
    r = await call(jwks_url, sign(IDP_KEY))
    assert r.status_code == 200
    assert r.json() == {"sub": "carol"}


async def test_a_token_signed_by_another_key_under_the_same_key_id_is_refused(jwks_url: str) -> None:
    r = await call(jwks_url, sign(ROGUE_KEY))
    assert r.status_code == 401
    assert "signature" in r.json()["detail"]


async def test_a_token_naming_an_unknown_key_id_is_refused(jwks_url: str) -> None:
    r = await call(jwks_url, sign(IDP_KEY, kid="someone-else"))
    assert r.status_code == 401


async def test_an_hs256_token_is_refused_when_the_service_expects_rs256(jwks_url: str) -> None:
    forged = jwt.encode({"sub": "x", "aud": "backoffice", "exp": int(time.time()) + 60}, "guess", algorithm="HS256")
    r = await call(jwks_url, forged)
    assert r.status_code == 401


ISSUER = "http://127.0.0.1:1/realms/backoffice"


async def test_in_development_a_development_hs256_token_is_accepted_beside_rs256(jwks_url: str) -> None:
    dev = mint_token(secret=DEV_JWT_SECRET, sub="dave", roles=["requester"])
    r = await call(jwks_url, dev, environment="development", jwt_issuer=ISSUER)
    assert r.status_code == 200
    assert r.json() == {"sub": "dave"}
    r = await call(jwks_url, sign(IDP_KEY, iss=ISSUER), environment="development", jwt_issuer=ISSUER)
    assert r.status_code == 200


async def test_outside_development_only_the_configured_rs256_is_accepted(jwks_url: str) -> None:
    dev = mint_token(secret=DEV_JWT_SECRET, sub="dave", roles=["requester"])
    r = await call(jwks_url, dev, environment="production", jwt_issuer=ISSUER)
    assert r.status_code == 401
    assert "HS256" in r.json()["detail"]
    r = await call(jwks_url, sign(IDP_KEY, iss=ISSUER), environment="production", jwt_issuer=ISSUER)
    assert r.status_code == 200


async def test_an_rs256_token_of_another_issuer_is_refused(jwks_url: str) -> None:
    r = await call(
        jwks_url, sign(IDP_KEY, iss="http://elsewhere/realms/x"), environment="development", jwt_issuer=ISSUER
    )
    assert r.status_code == 401
    assert "issuer" in r.json()["detail"]
