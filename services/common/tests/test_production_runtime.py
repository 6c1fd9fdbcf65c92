"""Production plumbing: database-only readiness with the schema revision, keepalives, Kafka security settings."""

from __future__ import annotations

import ssl

import asyncpg
import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict
from sqlalchemy import text

from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_common.db import asyncpg_dsn, make_engine, new_metadata
from backoffice_common.health import expected_schema_heads
from backoffice_common.messaging import create_messaging_tables, messaging_tables
from backoffice_common.settings import ServiceSettings
from backoffice_common.testing import app_client, private_database


class RequestsLikeSettings(ServiceSettings):
    """The schema check reads the Alembic heads of backoffice_<service_name>: borrow requests'."""

    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")
    service_name: str = "requests"


async def _app(url: str):  # type: ignore[no-untyped-def]
    settings = RequestsLikeSettings(database_url=url, kafka_bootstrap_servers="127.0.0.1:1", jwt_secret="s" * 40)
    tables = messaging_tables(new_metadata())
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(create_messaging_tables)
    await engine.dispose()
    spec = ServiceSpec(name="requests", title="t", description="d", version="0", tables=tables)
    return create_service_app(spec, settings)


async def test_database_readiness_ignores_kafka_but_waits_for_the_schema_revision() -> None:
    heads = expected_schema_heads("requests")
    assert heads, "backoffice_requests ships Alembic migrations"
    async with private_database() as url:
        app = await _app(url)
        async with app_client(app) as client:
            unmigrated = await client.get("/readyz", params={"probe": "db"})
            assert unmigrated.status_code == 503, unmigrated.text
            assert unmigrated.json()["checks"]["schema"]["ok"] is False
            async with app.state.engine.begin() as conn:
                await conn.execute(text("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)"))
                await conn.execute(text("INSERT INTO alembic_version VALUES ('0000_older_release')"))
            older = await client.get("/readyz", params={"probe": "db"})
            assert older.status_code == 503
            assert older.json()["checks"]["schema"]["current"] == ["0000_older_release"]
            async with app.state.engine.begin() as conn:
                await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": next(iter(heads))})
            ready = await client.get("/readyz", params={"probe": "db"})
            assert ready.status_code == 200, ready.text
            assert set(ready.json()["checks"]) == {"database", "schema"}
            full = await client.get("/readyz")
            assert full.status_code == 503, "the full readiness still reports the unreachable Kafka"
            assert full.json()["checks"]["kafka"]["ok"] is False
            assert (await client.get("/readyz", params={"probe": "kafka-only"})).status_code == 422


async def test_every_database_session_asks_postgres_for_tcp_keepalives() -> None:
    settings = ServiceSettings(database_tcp_keepalives_idle_seconds=7, database_tcp_user_timeout_ms=21000)
    async with private_database() as url:
        engine = make_engine(url, server_settings=settings.database_server_settings)
        try:
            async with engine.connect() as conn:
                idle = (await conn.execute(text("SHOW tcp_keepalives_idle"))).scalar_one()
                user_timeout = (await conn.execute(text("SHOW tcp_user_timeout"))).scalar_one()
        finally:
            await engine.dispose()
        assert (idle, user_timeout) == ("7", "21000")  # PostgreSQL defaults: "0", "0"
        relay_conn = await asyncpg.connect(asyncpg_dsn(url, server_settings=settings.database_server_settings))
        try:
            assert await relay_conn.fetchval("SHOW tcp_keepalives_count") == "3"
            assert await relay_conn.fetchval("SHOW tcp_keepalives_interval") == "5"
        finally:
            await relay_conn.close()


def test_sasl_needs_a_mechanism_and_credentials() -> None:
    with pytest.raises(ValidationError, match="kafka_sasl_mechanism"):
        ServiceSettings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="u")
    assert ServiceSettings().kafka_client_options == {"security_protocol": "PLAINTEXT"}


def test_sasl_ssl_settings_become_the_kafka_client_arguments() -> None:
    options = ServiceSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="backoffice-requests-kafka",
        kafka_sasl_password="p" * 32,
    ).kafka_client_options
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "backoffice-requests-kafka"
    assert options["sasl_plain_password"] == "p" * 32
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


def test_a_missing_ca_file_fails_at_start_not_at_the_first_message() -> None:
    settings = ServiceSettings(kafka_security_protocol="SSL", kafka_ssl_cafile="/nonexistent/ca.crt")
    with pytest.raises(FileNotFoundError):
        _ = settings.kafka_client_options


def test_production_with_rs256_must_check_the_issuer() -> None:
    jwks = "https://idp.test/.well-known/jwks.json"
    with pytest.raises(ValidationError, match="jwt_issuer"):
        ServiceSettings(environment="production", jwt_algorithm="RS256", jwt_jwks_url=jwks)
    ok = ServiceSettings(
        environment="production", jwt_algorithm="RS256", jwt_jwks_url=jwks, jwt_issuer="https://idp.test/realms/b"
    )
    assert ok.jwt_issuer == "https://idp.test/realms/b"
