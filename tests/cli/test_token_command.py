"""`backoffice token` prints a development token that a service of `make run` accepts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

import backoffice_requests
from backoffice_common.settings import DEV_JWT_SECRET
from backoffice_common.testing import app_client, private_database, unique_prefix
from backoffice_requests.main import create_app
from backoffice_requests.settings import Settings

MIGRATIONS = Path(backoffice_requests.__file__).parent / "migrations"
BACKOFFICE = Path(sys.executable).parent / "backoffice"


def token(*args: str, secret: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BACKOFFICE_DEV_JWT_SECRET"}
    if secret is not None:
        env["BACKOFFICE_DEV_JWT_SECRET"] = secret
    return subprocess.run([str(BACKOFFICE), "token", *args], capture_output=True, text=True, env=env, timeout=60)


def test_the_token_carries_the_chosen_claims_and_is_signed_with_the_development_secret() -> None:
    done = token(
        "--user",
        "alice",
        "--name",
        "Alice Example",
        "--role",
        "requester",
        "--role",
        "approver",
        "--department",
        "ENG",
        "--locale",
        "de",
        "--expires-in",
        "30m",
    )
    assert done.returncode == 0, done.stderr
    raw = done.stdout.strip()
    assert raw.count(".") == 2
    assert "\n" not in raw
    claims = jwt.decode(raw, DEV_JWT_SECRET, algorithms=["HS256"], audience="backoffice")
    assert claims["sub"] == "alice"
    assert claims["name"] == "Alice Example"
    assert claims["email"] == "alice@example.com"
    assert claims["roles"] == ["approver", "requester"]
    assert claims["department"] == "ENG"
    assert claims["locale"] == "de"
    assert claims["exp"] - claims["iat"] == 1800
    assert abs(claims["iat"] - time.time()) < 60


def test_the_secret_of_the_environment_wins_over_the_default() -> None:
    done = token("--user", "bob", secret="another-secret-of-at-least-thirty-two-chars")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(done.stdout.strip(), DEV_JWT_SECRET, algorithms=["HS256"], audience="backoffice")
    claims = jwt.decode(
        done.stdout.strip(), "another-secret-of-at-least-thirty-two-chars", algorithms=["HS256"], audience="backoffice"
    )
    assert claims["roles"] == []


def test_unknown_roles_and_bad_lifetimes_are_refused_with_a_message() -> None:
    done = token("--user", "x", "--role", "boss")
    assert done.returncode != 0
    assert "unknown role(s) boss" in done.stderr
    done = token("--user", "x", "--expires-in", "forever")
    assert done.returncode != 0
    assert "not a lifetime" in done.stderr


async def test_the_requests_service_with_its_make_run_settings_accepts_the_token() -> None:
    good = token("--user", "carol", "--role", "requester", "--department", "ENG").stdout.strip()
    forged = token("--user", "carol", "--role", "requester", secret="x" * 40).stdout.strip()
    async with private_database(MIGRATIONS) as url:
        # The JWT settings are those deploy/services.sh gives `make run`: the development defaults.
        settings = Settings(
            database_url=url,
            kafka_bootstrap_servers=os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"],
            kafka_topic_prefix=unique_prefix(),
            log_level="WARNING",
        )
        assert settings.jwt_secret == DEV_JWT_SECRET
        async with app_client(create_app(settings)) as client:
            ok = await client.get("/requests", headers={"Authorization": f"Bearer {good}"})
            refused = await client.get("/requests", headers={"Authorization": f"Bearer {forged}"})
    assert ok.status_code == 200, ok.text
    assert refused.status_code == 401
    assert refused.json()["detail"] == "the token signature is invalid"
