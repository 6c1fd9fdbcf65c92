"""Fixtures of the approvals tests: one migrated private database and app per session."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from approvals_testkit import DIRECTORY_ROWS, POLICY, SECRET

from backoffice_approvals.main import create_app
from backoffice_approvals.settings import Settings
from backoffice_common.auth import mint_token
from backoffice_common.events import CloudEvent
from backoffice_common.testing import TopicReader, app_client, private_database, publish_events, unique_prefix

MIGRATIONS = Path(__file__).parents[1] / "src" / "backoffice_approvals" / "migrations"


@dataclass
class Service:
    client: httpx.AsyncClient
    reader: TopicReader
    bootstrap: str
    prefix: str
    settings: Settings
    app: Any = None

    def headers(self, sub: str, roles: list[str] | None = None) -> dict[str, str]:
        token = mint_token(secret=SECRET, sub=sub, roles=roles or ["approver"], name=sub.title())
        return {"Authorization": f"Bearer {token}"}

    @property
    def admin(self) -> dict[str, str]:
        return self.headers("root", ["admin"])

    async def publish(self, *events: CloudEvent) -> None:
        await publish_events(self.bootstrap, self.prefix + "backoffice.requests", list(events))

    async def publish_budget(self, *events: CloudEvent) -> None:
        await publish_events(self.bootstrap, self.prefix + "backoffice.budgets", list(events))

    async def assigned(self, request_id: str, count: int = 1, timeout: float = 30) -> list[Any]:
        return await self.reader.wait_for("approval.task_assigned", subject=request_id, count=count, timeout=timeout)


@pytest.fixture(scope="session")
async def service() -> AsyncIterator[Service]:
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    prefix = unique_prefix()
    async with private_database(MIGRATIONS) as url:
        settings = Settings(
            database_url=url,
            kafka_bootstrap_servers=bootstrap,
            kafka_topic_prefix=prefix,
            outbox_poll_interval_seconds=0.2,
            jwt_secret=SECRET,
            timer_poll_seconds=0.2,
            budget_check_wait_seconds=0,
            exchange_rates={"USD": "0.9"},
            consumer_retry_initial_seconds=0.05,
            log_json=False,
            log_level="WARNING",
        )
        app = create_app(settings)
        async with (
            TopicReader(bootstrap, prefix + "backoffice.approvals") as reader,
            app_client(app) as client,
        ):
            svc = Service(client, reader, bootstrap, prefix, settings, app)
            r = await client.post("/directory/approvers/import", json={"approvers": DIRECTORY_ROWS}, headers=svc.admin)
            assert r.status_code == 200, r.text
            r = await client.post("/policies", json=POLICY, headers=svc.admin)
            assert r.status_code == 201, r.text
            yield svc
