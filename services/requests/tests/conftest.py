"""Fixtures of the requests service's tests: one running service per test session on the real infrastructure."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from requests_testkit import BLOCKED_VENDOR, MIGRATIONS, OTHER_VENDOR, SECRET, VENDOR, Service, vendor_record
from sqlalchemy import select

from backoffice_common.testing import (
    TopicReader,
    app_client,
    eventually,
    object_store_settings,
    private_database,
    publish_events,
    unique_prefix,
)
from backoffice_requests.main import create_app
from backoffice_requests.models import vendor
from backoffice_requests.settings import Settings


@pytest.fixture(scope="session")
async def service() -> AsyncIterator[Service]:
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    prefix = unique_prefix()
    async with private_database(MIGRATIONS) as url:
        settings = Settings(
            database_url=url,
            kafka_bootstrap_servers=bootstrap,
            kafka_topic_prefix=prefix,
            outbox_poll_interval_seconds=0.5,
            consumer_retry_initial_seconds=0.05,
            consumer_max_attempts=2,
            jwt_secret=SECRET,
            require_known_cost_centre=False,
            environment="test",
            log_level="WARNING",
            **object_store_settings(f"{prefix}requests/"),
        )
        app = create_app(settings)
        async with TopicReader(bootstrap, f"{prefix}backoffice.requests") as reader, app_client(app) as client:

            async def consuming() -> bool:
                return app.state.consumer is not None and app.state.consumer.health().running

            await eventually(consuming, timeout=60)
            seeds = [vendor_record(VENDOR), vendor_record(OTHER_VENDOR), vendor_record(BLOCKED_VENDOR, "blocked")]
            await publish_events(bootstrap, f"{prefix}backoffice.vendors", seeds)

            async def vendors_known() -> bool:
                async with app.state.session_factory() as session:
                    return len((await session.execute(select(vendor.c.vendor_id))).all()) == 3

            await eventually(vendors_known, timeout=60)
            yield Service(client=client, bootstrap=bootstrap, prefix=prefix, published=reader, app=app)
