"""Fixtures: one notifications service per test session on a private database and topic prefix."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio
from notifications_testkit import MIGRATIONS, make_settings

from backoffice_common.app import topic_specs
from backoffice_common.kafka import ensure_topics
from backoffice_common.testing import TopicReader, app_client, private_database, unique_prefix
from backoffice_notifications.main import build_spec, create_app
from backoffice_notifications.settings import Settings


@dataclass
class Service:
    client: httpx.AsyncClient
    settings: Settings
    prefix: str
    bootstrap: str
    events: TopicReader
    vendors: TopicReader


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def service() -> AsyncIterator[Service]:
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    prefix = unique_prefix()
    async with private_database(MIGRATIONS) as url:
        settings = make_settings(url, prefix)
        app = create_app(settings)
        # Create the topics as the service would (backoffice.vendors compacted) before the readers touch them.
        await ensure_topics(bootstrap, topic_specs(build_spec(settings), settings), client_id="notifications-test")
        async with (
            TopicReader(bootstrap, prefix + "backoffice.notifications") as events,
            TopicReader(bootstrap, prefix + "backoffice.vendors") as vendors,
            app_client(app) as client,
        ):
            yield Service(client, settings, prefix, bootstrap, events, vendors)
