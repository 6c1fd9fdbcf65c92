"""Helpers for the services' integration tests against the real PostgreSQL and Kafka.

They create a private database per test session, run a service's migrations into it, run the app's
lifespan (relay, consumer, timers) in-process and read topics. Nothing here fakes a component.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

from backoffice_common.events import CloudEvent, structured_headers
from backoffice_common.kafka import TopicSpec, ensure_topics, make_producer
from backoffice_common.migrations import upgrade


def require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run tests through 'make test', which starts PostgreSQL and Kafka")
    return value


def object_store_settings(prefix: str = "") -> dict[str, Any]:
    """The ``object_store_*`` settings of the S3Proxy that ``deploy/infra.sh`` starts (``BACKOFFICE_S3_*``)."""
    return {
        "object_store_endpoint": require_env("BACKOFFICE_S3_ENDPOINT"),
        "object_store_bucket": require_env("BACKOFFICE_S3_BUCKET"),
        "object_store_region": os.environ.get("BACKOFFICE_S3_REGION", "us-east-1"),
        "object_store_access_key": require_env("BACKOFFICE_S3_ACCESS_KEY"),
        "object_store_secret_key": require_env("BACKOFFICE_S3_SECRET_KEY"),
        "object_store_prefix": prefix,
    }


def unique_prefix() -> str:
    """A topic prefix that isolates one test session's topics and consumer groups from any other."""
    return f"t{uuid.uuid4().hex[:8]}."


@asynccontextmanager
async def private_database(migrations: Path | None = None, *, dsn_base: str | None = None) -> AsyncIterator[str]:
    """Create a fresh database (migrated when ``migrations`` is given); yields its SQLAlchemy URL."""
    base = dsn_base or require_env("BACKOFFICE_PG_DSN_BASE")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        if migrations is not None:
            await asyncio.to_thread(upgrade, migrations, url)
        yield url
    finally:
        admin = await asyncpg.connect(f"{base}/postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def app_client(app: FastAPI, *, base_url: str = "http://testserver") -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan (relay, consumer, background jobs) and an HTTP client bound to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 30.0, interval: float = 0.2, message: str = ""
) -> Any:
    """Poll ``check`` until it returns something truthy; returns that value or fails the test."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(message or f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


class TopicReader:
    """Reads a topic from the beginning in the background and keeps every decoded event."""

    def __init__(self, bootstrap: str, topic: str, *, partitions: int = 3) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._partitions = partitions
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
            metadata_max_age_ms=2000,
        )
        self.events: list[CloudEvent] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> TopicReader:
        # The topic may not exist yet (services create theirs at start-up); create it as they would.
        await ensure_topics(
            self._bootstrap, [TopicSpec(self._topic, self._partitions, None)], client_id="test-topic-reader"
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def _run(self) -> None:
        async for record in self._consumer:
            try:
                self.events.append(CloudEvent.from_json_bytes(record.value))
            except ValueError:
                continue

    def of_type(self, type: str, *, subject: str | None = None) -> list[CloudEvent]:
        return [e for e in self.events if e.type == type and (subject is None or e.subject == subject)]

    async def wait_for(
        self, type: str, *, subject: str | None = None, count: int = 1, timeout: float = 30.0
    ) -> list[CloudEvent]:
        async def found() -> list[CloudEvent] | None:
            matches = self.of_type(type, subject=subject)
            return matches if len(matches) >= count else None

        result: list[CloudEvent] = await eventually(
            found, timeout=timeout, message=f"no {count} x {type} for {subject} within {timeout}s"
        )
        return result


async def publish_events(bootstrap: str, topic: str, events: list[CloudEvent]) -> None:
    """Put events on a topic the way another service's relay would (key = subject)."""
    producer = make_producer(bootstrap, client_id="test-publisher")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topic,
                value=event.to_json_bytes(),
                key=event.subject.encode() if event.subject else None,
                headers=structured_headers(),
            )
    finally:
        await producer.stop()
