"""The composition root: a small service built with create_service_app, run against real PostgreSQL and Kafka."""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic_settings import SettingsConfigDict

from backoffice_common.app import ServiceSpec, UowDep, create_service_app
from backoffice_common.auth import User, mint_token, require_roles
from backoffice_common.db import new_metadata
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.messaging import create_messaging_tables, messaging_tables
from backoffice_common.settings import ServiceSettings
from backoffice_common.testing import TopicReader, app_client, private_database, publish_events, unique_prefix
from backoffice_common.uow import UnitOfWork


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")
    service_name: str = "demo"


def build(settings: DemoSettings, seen: list[str]):  # type: ignore[no-untyped-def]
    tables = messaging_tables(new_metadata())
    router = APIRouter()

    @router.post("/pings", status_code=202)
    async def ping(uow: UowDep, user: Annotated[User, Depends(require_roles("requester"))]) -> dict[str, str]:
        event = new_event(type="ping.sent", service="demo", subject=user.sub, data={"schema_version": 1})
        uow.publish(event, topic="demo.out")
        await uow.commit()
        return {"event_id": event.id}

    @router.post("/pings/elsewhere", status_code=202)
    async def ping_elsewhere(uow: UowDep) -> dict[str, str]:
        event = new_event(type="ping.sent", service="demo", subject="nobody", data={"schema_version": 1})
        uow.publish(event, topic="demo.elsewhere")  # a topic nobody created: the relay cannot publish it
        await uow.commit()
        return {"event_id": event.id}

    @router.get("/numbers/{n}")
    async def number(n: int, uow: UowDep) -> dict[str, int]:
        from sqlalchemy import text

        return {"n": (await uow.session.execute(text("SELECT CAST(:n AS integer)"), {"n": n})).scalar_one()}

    async def on_pong(event: CloudEvent, uow: UnitOfWork) -> None:
        seen.append(event.id)

    spec = ServiceSpec(
        name="demo",
        title="demo",
        description="demo",
        version="0",
        tables=tables,
        routers=[router],
        publishes=["demo.out"],
        consumes=["demo.in"],
        handlers={"pong.sent": on_pong},
    )
    return create_service_app(spec, settings)


async def test_a_service_serves_health_metrics_and_moves_events_both_ways() -> None:
    prefix = unique_prefix()
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    async with private_database() as url:
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(create_messaging_tables)
        await engine.dispose()
        settings = DemoSettings(
            database_url=url,
            kafka_bootstrap_servers=bootstrap,
            kafka_topic_prefix=prefix,
            outbox_poll_interval_seconds=0.5,
            jwt_secret="s" * 40,
        )
        seen: list[str] = []
        app = build(settings, seen)
        async with TopicReader(bootstrap, f"{prefix}demo.out") as reader, app_client(app) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            token = mint_token(secret="s" * 40, sub="alice", roles=["requester"])
            r = await client.post("/pings", headers={"Authorization": f"Bearer {token}", "X-Correlation-ID": "flow-7"})
            assert r.status_code == 202
            published = await reader.wait_for("ping.sent", subject="alice")
            assert published[0].id == r.json()["event_id"]
            assert published[0].correlationid == "flow-7"

            pong = new_event(type="pong.sent", service="other", subject="alice", data={})
            await publish_events(bootstrap, f"{prefix}demo.in", [pong])
            from backoffice_common.testing import eventually

            async def handled() -> bool:
                return pong.id in seen

            await eventually(handled)
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            checks = ready.json()["checks"]
            assert checks["database"]["ok"]
            assert checks["kafka"]["ok"]
            assert checks["consumer"]["running"]
            metrics = (await client.get("/metrics")).text
            assert 'backoffice_outbox_published_total{service="demo"}' in metrics
            assert "backoffice_http_requests_total" in metrics
            openapi = (await client.get("/openapi.json")).json()
            assert "/pings" in openapi["paths"]


async def test_readyz_is_503_when_kafka_cannot_be_reached() -> None:
    async with private_database() as url:
        settings = DemoSettings(database_url=url, kafka_bootstrap_servers="127.0.0.1:1", jwt_secret="s" * 40)
        app = build(settings, [])
        async with app_client(app) as client:
            r = await client.get("/readyz")
            assert r.status_code == 503
            assert r.json()["checks"]["kafka"]["ok"] is False
            assert r.json()["checks"]["database"]["ok"] is True


async def test_a_value_the_database_cannot_hold_is_a_422_problem_not_a_500() -> None:
    async with private_database() as url:
        settings = DemoSettings(database_url=url, kafka_bootstrap_servers="127.0.0.1:1", jwt_secret="s" * 40)
        async with app_client(build(settings, [])) as client:
            assert (await client.get("/numbers/7")).json() == {"n": 7}
            r = await client.get("/numbers/99999999999")
            assert r.status_code == 422
            assert r.headers["content-type"] == "application/problem+json"
            assert "out of range" in r.json()["detail"]


async def test_readyz_and_the_metrics_report_an_outbox_row_that_waits_longer_than_the_threshold() -> None:
    prefix = unique_prefix()
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    async with private_database() as url:
        from sqlalchemy.ext.asyncio import create_async_engine

        from backoffice_common.kafka import TopicSpec, ensure_topics
        from backoffice_common.testing import eventually

        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(create_messaging_tables)
        await engine.dispose()
        settings = DemoSettings(
            database_url=url,
            kafka_bootstrap_servers=bootstrap,
            kafka_topic_prefix=prefix,
            outbox_poll_interval_seconds=0.5,
            outbox_stall_seconds=1.5,
            jwt_secret="s" * 40,
        )
        app = build(settings, [])
        async with app_client(app) as client:
            assert (await client.post("/pings/elsewhere")).status_code == 202

            async def outbox_check() -> dict[str, object] | None:
                r = await client.get("/readyz")
                check: dict[str, object] = r.json()["checks"]["outbox_relay"]
                return check if r.status_code == 503 and not check["ok"] else None

            stalled = await eventually(outbox_check, timeout=20)
            assert stalled["unsent"] == 1
            assert float(stalled["oldest_unsent_age_seconds"]) >= 1.5  # type: ignore[arg-type]  # rounded to 0.1 s
            ready = (await client.get("/readyz")).json()["checks"]
            for healthy in ("database", "kafka", "consumer"):
                assert ready[healthy]["ok"], ready
            metrics = (await client.get("/metrics")).text
            assert 'backoffice_outbox_pending{service="demo"} 1.0' in metrics
            age = float(metrics.split('backoffice_outbox_oldest_unsent_age_seconds{service="demo"} ')[1].split()[0])
            assert age > 1.5

            await ensure_topics(bootstrap, [TopicSpec(f"{prefix}demo.elsewhere", 1, 1)], client_id="test-admin")

            async def ready_again() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await eventually(ready_again, timeout=40)
            metrics = (await client.get("/metrics")).text
            assert 'backoffice_outbox_pending{service="demo"} 0.0' in metrics


async def test_readyz_keeps_one_kafka_admin_client_across_calls() -> None:
    async with private_database() as url:
        settings = DemoSettings(
            database_url=url, kafka_bootstrap_servers=os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"], jwt_secret="s" * 40
        )
        app = build(settings, [])
        async with app_client(app) as client:
            await client.get("/readyz")
            admin = app.state.kafka_probe._admin
            assert admin is not None
            for _ in range(3):
                assert (await client.get("/readyz")).json()["checks"]["kafka"]["ok"]
            assert app.state.kafka_probe._admin is admin


async def test_readyz_checks_the_database_without_opening_a_transaction() -> None:
    """The database, schema and outbox checks run on ``read_connection``: one statement each, where a
    connection of SQLAlchemy's sent BEGIN, the statement and ROLLBACK (three round trips a check)."""
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import create_async_engine

    async with private_database() as url:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(create_messaging_tables)
        await engine.dispose()
        settings = DemoSettings(
            database_url=url,
            kafka_bootstrap_servers=os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"],
            kafka_topic_prefix=unique_prefix(),
            jwt_secret="s" * 40,
        )
        app = build(settings, [])
        async with app_client(app) as client:
            begun: list[object] = []

            def on_begin(connection: object) -> None:
                begun.append(connection)

            sync_engine = app.state.engine.sync_engine
            event.listen(sync_engine, "begin", on_begin)
            try:
                for _ in range(3):
                    ready = await client.get("/readyz", params={"probe": "db"})
                    assert ready.status_code == 200, ready.text
                    checks = (await client.get("/readyz")).json()["checks"]
                    assert checks["database"]["ok"], checks
                    assert checks["outbox_relay"]["unsent"] == 0, checks
            finally:
                event.remove(sync_engine, "begin", on_begin)
            assert begun == []
