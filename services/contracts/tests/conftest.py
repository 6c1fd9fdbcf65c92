"""One contracts service per test session, against the real PostgreSQL and Kafka."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from contracts_testkit import JWT_SECRET

from backoffice_common.auth import mint_token
from backoffice_common.events import CloudEvent
from backoffice_common.testing import (
    TopicReader,
    app_client,
    eventually,
    object_store_settings,
    private_database,
    publish_events,
    unique_prefix,
)
from backoffice_contracts.main import create_app
from backoffice_contracts.settings import Settings

MIGRATIONS = Path(__file__).parents[1] / "src" / "backoffice_contracts" / "migrations"


@dataclass
class ContractsEnv:
    client: httpx.AsyncClient
    reader: TopicReader
    bootstrap: str
    prefix: str
    database_url: str
    settings: Settings

    async def publish(self, topic: str, *events: CloudEvent) -> None:
        await publish_events(self.bootstrap, self.prefix + topic, list(events))

    def token(self, sub: str, roles: list[str], **claims: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + mint_token(secret=JWT_SECRET, sub=sub, roles=roles, **claims)}


@pytest.fixture(scope="session")
async def contracts_env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ContractsEnv]:
    async with contracts_service(tmp_path_factory.mktemp("pki")) as env:
        yield env


@pytest.fixture
def own_contracts_service(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., AbstractAsyncContextManager[ContractsEnv]]:
    """``async with own_contracts_service(**overrides) as env``: a service of its own for one test."""
    return lambda **overrides: contracts_service(tmp_path_factory.mktemp("pki"), **overrides)


@asynccontextmanager
async def contracts_service(pki_dir: Path, **overrides: Any) -> AsyncIterator[ContractsEnv]:
    """A contracts service of its own (database, topics), its settings changed by ``overrides``."""
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    prefix = unique_prefix()
    async with private_database(MIGRATIONS) as url:
        settings = Settings(
            environment="test",
            database_url=url,
            kafka_bootstrap_servers=bootstrap,
            kafka_topic_prefix=prefix,
            kafka_topic_partitions=1,
            outbox_poll_interval_seconds=0.3,
            jwt_secret=JWT_SECRET,
            link_secret="contracts-test-link-secret-" + "x" * 20,
            public_base_url="http://contracts.test",
            pki_dir=pki_dir,
            expiry_poll_seconds=0.3,
            expiry_idle_poll_seconds=0.3,  # the expiry tests move expires_at in SQL, which rings no bell
            render_workers=1,
            render_timeout_seconds=5,
            render_cpu_seconds=3,
            render_memory_mb=512,
            log_json=False,
            log_level="WARNING",
            **object_store_settings(f"{prefix}contracts/"),
        ).model_copy(update=overrides)
        app = create_app(settings)
        async with (
            TopicReader(bootstrap, prefix + "backoffice.contracts", partitions=1) as reader,
            app_client(app, base_url="http://contracts.test") as client,
        ):

            async def consuming() -> bool:
                ready = await client.get("/readyz")
                return ready.status_code == 200 and ready.json()["checks"]["consumer"]["running"]

            await eventually(consuming, timeout=60)
            yield ContractsEnv(client, reader, bootstrap, prefix, url, settings)
