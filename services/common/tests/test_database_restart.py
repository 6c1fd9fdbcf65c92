"""An immediate PostgreSQL restart under a service that keeps answering reads and writes.

The database is a private real server (pg_cluster): the shared test server must stay up for the
other tests. Kafka is not needed here (the service's writes wait in its outbox).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from pg_cluster import PostgresCluster
from pydantic_settings import SettingsConfigDict
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backoffice_common.app import ServiceSpec, UowDep, create_service_app
from backoffice_common.db import new_metadata
from backoffice_common.deps import ReadConnection
from backoffice_common.events import new_event
from backoffice_common.messaging import create_messaging_tables, messaging_tables
from backoffice_common.settings import ServiceSettings
from backoffice_common.testing import app_client


class RestartSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RESTART_DEMO_", extra="ignore")
    service_name: str = "restartdemo"


def build(settings: RestartSettings):  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.post("/notes", status_code=201)
    async def write(uow: UowDep) -> dict[str, str]:
        note = new_event(type="note.written", service="restartdemo", subject=str(uuid.uuid4()), data={})
        uow.publish(note, topic="restartdemo.out")
        await uow.commit()
        return {"id": note.id}

    @router.get("/notes/count")
    async def read(uow: UowDep) -> dict[str, int]:
        count = (await uow.session.execute(text("SELECT count(*) FROM outbox_message"))).scalar_one()
        return {"count": int(count)}

    @router.get("/notes/count-now")
    async def read_now(conn: ReadConnection) -> dict[str, int]:
        """The same read on a pooled connection without a unit of work (``db.read_connection``)."""
        return {"count": int(await conn.fetchval("SELECT count(*) FROM outbox_message"))}

    spec = ServiceSpec(
        name="restartdemo",
        title="restart demo",
        description="",
        version="0",
        tables=messaging_tables(new_metadata()),
        routers=[router],
        publishes=["restartdemo.out"],
    )
    return create_service_app(spec, settings)


@pytest.fixture
async def postgres(tmp_path: Path) -> AsyncIterator[PostgresCluster]:
    cluster = PostgresCluster(tmp_path / "pg")
    await asyncio.to_thread(cluster.start)
    try:
        await cluster.wait_ready()
        engine = create_async_engine(cluster.url)
        async with engine.begin() as conn:
            await conn.run_sync(create_messaging_tables)
        await engine.dispose()
        yield cluster
    finally:
        await asyncio.to_thread(cluster.stop)


async def test_a_database_restart_answers_503_with_retry_after_never_500_and_nothing_after_it_fails(
    postgres: PostgresCluster,
) -> None:
    settings = RestartSettings(
        database_url=postgres.url, database_pool_size=4, kafka_bootstrap_servers="127.0.0.1:1", jwt_secret="s" * 40
    )
    during: Counter[int] = Counter()
    after: Counter[int] = Counter()
    unavailable: list[httpx.Response] = []
    restarted = asyncio.Event()
    stop = asyncio.Event()

    async def hammer(client: httpx.AsyncClient, n: int) -> None:
        while not stop.is_set():
            started_after_restart = restarted.is_set()
            if n % 2:
                r = await client.post("/notes")
            else:
                r = await client.get("/notes/count" if n % 4 else "/notes/count-now")
            (after if started_after_restart else during)[r.status_code] += 1
            if r.status_code == 503:
                unavailable.append(r)
            await asyncio.sleep(0.005)

    async with app_client(build(settings)) as client:
        assert (await client.post("/notes")).status_code == 201
        workers = [asyncio.create_task(hammer(client, n)) for n in range(8)]
        try:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(postgres.restart_immediately)
            restarted.set()
            await asyncio.sleep(2.0)
        finally:
            stop.set()
            await asyncio.gather(*workers)
        idle_pool_after_second_restart = await _restart_while_idle_then_read(client, postgres)

    assert set(during) <= {200, 201, 503}, during
    assert during[503] > 0, f"the restart was not observed by any request: {during}"
    for r in unavailable:
        assert r.headers["retry-after"] == "2"
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 503
        assert "database" in r.json()["detail"]
    assert set(after) <= {200, 201}, f"requests sent after the restart failed: {after}"
    assert sum(after.values()) > 50
    assert idle_pool_after_second_restart == {200}


async def _restart_while_idle_then_read(client: httpx.AsyncClient, postgres: PostgresCluster) -> set[int]:
    """Every pooled connection dies while nobody uses it: the next requests must not notice."""
    await asyncio.to_thread(postgres.restart_immediately)
    await asyncio.sleep(0.2)
    paths = ("/notes/count", "/notes/count-now")
    responses = await asyncio.gather(*(client.get(paths[n % 2]) for n in range(12)))
    return {r.status_code for r in responses}
