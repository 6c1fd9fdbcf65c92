"""Fixtures of the insights service's tests: a running service on the real infrastructure, fed by real topics."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from insights_testkit import MIGRATIONS, SECRET

from backoffice_common.auth import mint_token
from backoffice_common.testing import app_client, eventually, private_database, unique_prefix
from backoffice_insights.main import create_app
from backoffice_insights.settings import Settings


@dataclass
class Insights:
    client: httpx.AsyncClient
    bootstrap: str
    prefix: str
    handled: Callable[[], int]

    def topic(self, name: str) -> str:
        return self.prefix + name


def token(*roles: str, sub: str = "paula", department: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(secret=SECRET, sub=sub, roles=list(roles), department=department)}"}


PROCUREMENT = token("procurement")
ADMIN = token("admin", sub="root")


@asynccontextmanager
async def running_insights(prefix: str, *, group: str | None = None) -> AsyncIterator[Insights]:
    """A fresh database and an insights service reading the topics of ``prefix`` from the start."""
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    async with private_database(MIGRATIONS) as url:
        settings = Settings(
            database_url=url,
            kafka_bootstrap_servers=bootstrap,
            kafka_topic_prefix=prefix,
            kafka_consumer_group=group,
            consumer_retry_initial_seconds=0.05,
            consumer_max_attempts=2,
            jwt_secret=SECRET,
            environment="test",
            log_level="WARNING",
            metrics_refresh_seconds=0.5,
        )
        app = create_app(settings)
        async with app_client(app) as client:

            async def consuming() -> bool:
                return app.state.consumer is not None and app.state.consumer.health().running

            await eventually(consuming, timeout=60)
            yield Insights(client, bootstrap, prefix, lambda: app.state.consumer.handled)


@pytest.fixture(scope="session")
async def insights() -> AsyncIterator[Insights]:
    async with running_insights(unique_prefix()) as service:
        yield service
