"""Fixtures of the checklists tests: one running service per session on the real PostgreSQL and Kafka."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from checklists_testkit import MIGRATIONS, Service, settings_for

from backoffice_checklists.main import create_app
from backoffice_common.testing import TopicReader, app_client, eventually, private_database, unique_prefix


@pytest.fixture(scope="session")
async def service() -> AsyncIterator[Service]:
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    prefix = unique_prefix()
    async with private_database(MIGRATIONS) as url:
        app = create_app(settings_for(url, bootstrap, prefix))
        async with (
            TopicReader(bootstrap, f"{prefix}backoffice.checklists") as events,
            app_client(app) as client,
        ):

            async def consuming() -> bool:
                return app.state.consumer is not None and app.state.consumer.health().running

            await eventually(consuming, timeout=60)
            yield Service(client, bootstrap, prefix, events, app)
