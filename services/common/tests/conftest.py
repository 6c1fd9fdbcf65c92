"""Fixtures for the shared library's tests: a fresh database per test on the real PostgreSQL, the real Kafka."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
from common_testkit import Harness
from sqlalchemy import BigInteger, Column, Integer, String, Table

from backoffice_common.db import make_engine, new_metadata
from backoffice_common.kafka import TopicSpec, dlq_topic, ensure_topics
from backoffice_common.messaging import messaging_tables


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run the tests through 'make test' (it starts PostgreSQL and Kafka)")
    return value


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return _env("BACKOFFICE_KAFKA_BOOTSTRAP")


@pytest.fixture(scope="session")
def pg_dsn_base() -> str:
    return _env("BACKOFFICE_PG_DSN_BASE")


@pytest.fixture(scope="session")
def infra() -> Callable[[str, str], None]:
    """Run ``deploy/infra.sh <action> <component>`` of the profile the tests run in."""
    root = Path(os.environ.get("BACKOFFICE_ROOT") or Path(__file__).resolve().parents[3])

    def run(action: str, component: str) -> None:
        subprocess.run(["bash", str(root / "deploy" / "infra.sh"), action, component], check=True, timeout=180)

    return run


@pytest.fixture
async def harness(pg_dsn_base: str, kafka_bootstrap: str) -> AsyncIterator[Harness]:
    suffix = uuid.uuid4().hex[:10]
    db_name = f"t_{suffix}"
    admin = await asyncpg.connect(f"{pg_dsn_base}/common_test")
    await admin.execute(f'CREATE DATABASE "{db_name}"')
    await admin.close()
    dsn = f"{pg_dsn_base}/{db_name}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    metadata = new_metadata()
    tables = messaging_tables(metadata)
    effect = Table(
        "effect",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("seq", Integer, nullable=False),
    )
    engine = make_engine(url, pool_size=5)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    topic = f"test.{suffix}"
    await ensure_topics(
        kafka_bootstrap,
        [TopicSpec(topic, 3, 1), TopicSpec(dlq_topic(topic), 1, 1)],
        client_id="test-admin",
    )
    yield Harness(f"svc_{suffix}", dsn, url, engine, tables, effect, topic, kafka_bootstrap)
    await engine.dispose()
    admin = await asyncpg.connect(f"{pg_dsn_base}/common_test")
    await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    await admin.close()
