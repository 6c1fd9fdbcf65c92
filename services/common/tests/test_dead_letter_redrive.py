"""A handler that fails for good dead-letters its record; once fixed, a redrive gets it handled exactly once."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from common_testkit import read_topic
from pydantic_settings import SettingsConfigDict
from sqlalchemy.ext.asyncio import create_async_engine

from backoffice_common import dlq_cli
from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_common.auth import mint_token
from backoffice_common.consumer import PermanentEventError
from backoffice_common.db import new_metadata
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.messaging import create_messaging_tables, messaging_tables
from backoffice_common.settings import ServiceSettings
from backoffice_common.testing import app_client, eventually, private_database, publish_events, unique_prefix
from backoffice_common.uow import UnitOfWork

SECRET = "s" * 40


class FlakySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FLAKY_", extra="ignore")
    service_name: str = "flaky"


@dataclass
class Flaky:
    client: httpx.AsyncClient
    app: object
    prefix: str
    bootstrap: str
    broken: bool = True

    def __post_init__(self) -> None:
        self.handled: list[str] = []

    def auth(self, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(secret=SECRET, sub='root', roles=list(roles))}"}


@asynccontextmanager
async def flaky_service() -> AsyncIterator[Flaky]:
    prefix = unique_prefix()
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    async with private_database() as url:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(create_messaging_tables)
        await engine.dispose()
        settings = FlakySettings(
            database_url=url,
            kafka_bootstrap_servers=bootstrap,
            kafka_topic_prefix=prefix,
            outbox_poll_interval_seconds=0.5,
            consumer_max_attempts=2,
            consumer_retry_initial_seconds=0.05,
            jwt_secret=SECRET,
        )
        state: list[Flaky] = []

        async def on_order(event: CloudEvent, uow: UnitOfWork) -> None:
            if state[0].broken:
                raise PermanentEventError(f"no customer {event.data['customer']}")
            state[0].handled.append(event.id)

        spec = ServiceSpec(
            name="flaky",
            title="flaky",
            description="a consumer with a bug",
            version="0",
            tables=messaging_tables(new_metadata()),
            consumes=["shop.orders"],
            handlers={"order.placed": on_order},
        )
        app = create_service_app(spec, settings)
        async with app_client(app) as client:
            state.append(Flaky(client, app, prefix, bootstrap))
            yield state[0]


async def test_a_dead_letter_is_listed_redriven_after_the_fix_and_handled_exactly_once() -> None:
    async with flaky_service() as svc:
        topic, dlq = f"{svc.prefix}shop.orders", f"{svc.prefix}shop.orders.dlq"
        order = new_event(type="order.placed", service="shop", subject="o-1", data={"customer": "c-9"})
        await publish_events(svc.bootstrap, topic, [order])

        async def listed() -> list[dict[str, object]]:
            r = await svc.client.get("/admin/dlq", headers=svc.auth("admin"))
            assert r.status_code == 200, r.text
            return list(r.json()["items"])

        [letter] = await eventually(listed, message="the failing record never reached the DLQ")
        assert letter["topic"] == dlq
        assert letter["event_id"] == order.id
        assert letter["event_type"] == "order.placed"
        assert letter["subject"] == "o-1"
        assert letter["original_topic"] == topic
        assert letter["consumer"] == "flaky"
        assert "no customer c-9" in str(letter["error"])
        assert letter["attempts"] == 1
        assert letter["redriven_at"] is None
        assert svc.handled == []

        svc.broken = False
        r = await svc.client.post("/admin/dlq/redrive", json={"event_ids": [order.id]}, headers=svc.auth("admin"))
        assert r.status_code == 200, r.text
        [item] = r.json()["items"]
        assert (item["outcome"], item["event_id"], item["republished_to"]) == ("redriven", order.id, topic)

        async def handled() -> bool:
            return svc.handled == [order.id]

        await eventually(handled, message="the redriven event was not handled")

        position = {"topic": dlq, "partition": letter["partition"], "offset": letter["offset"]}
        again = await svc.client.post(
            "/admin/dlq/redrive", json={"records": [position], "event_ids": [order.id]}, headers=svc.auth("admin")
        )
        assert again.status_code == 200, again.text
        assert [i["outcome"] for i in again.json()["items"]] == ["already_redriven"]
        assert await listed() == []
        r = await svc.client.get("/admin/dlq?include_redriven=true", headers=svc.auth("admin"))
        [redriven] = r.json()["items"]
        assert redriven["redriven_by"] == "root"
        assert redriven["redriven_at"] is not None

        # The original topic got the event back exactly once, with its id, and marked where it came from.
        records = await read_topic(svc.bootstrap, topic, expected=2, timeout=10)
        assert len(records) == 2
        (_, _, first), (key, value, headers) = records
        assert "redriven-from" not in first
        assert key == b"o-1"
        assert CloudEvent.from_json_bytes(value).id == order.id
        assert headers["redriven-from"] == f"{dlq}:{letter['partition']}:{letter['offset']}".encode()
        assert headers["content-type"] == b"application/cloudevents+json"
        assert not any(name.startswith("dlq-") for name in headers)

        # Even a second copy on the topic (two redrives racing) changes nothing: the inbox absorbs it.
        await publish_events(svc.bootstrap, topic, [order])
        marker = new_event(type="order.placed", service="shop", subject="o-1", data={"customer": "c-1"})
        await publish_events(svc.bootstrap, topic, [marker])
        await eventually(lambda: _handled_both(svc, marker.id))
        assert svc.handled == [order.id, marker.id]


async def _handled_both(svc: Flaky, second: str) -> bool:
    return second in svc.handled


async def test_the_dlq_command_lists_and_redrives_like_the_endpoint(capsys) -> None:  # type: ignore[no-untyped-def]
    async with flaky_service() as svc:
        topic = f"{svc.prefix}shop.orders"
        order = new_event(type="order.placed", service="shop", subject="o-3", data={"customer": "c-3"})
        await publish_events(svc.bootstrap, topic, [order])

        async def dead() -> str | None:
            capsys.readouterr()
            await dlq_cli.main(svc.app, ["list"])  # type: ignore[arg-type]
            out = str(capsys.readouterr().out)
            return out if order.id in out else None  # the service's own log lines are captured too

        out = await eventually(dead, message="the dlq command never listed the dead letter")
        assert order.id in out
        assert "no customer c-3" in out
        svc.broken = False
        assert await dlq_cli.main(svc.app, ["redrive", "--event-id", order.id, "--by", "ops"]) == 0  # type: ignore[arg-type]
        assert '"outcome": "redriven"' in capsys.readouterr().out
        await eventually(lambda: _handled_both(svc, order.id))
        assert await dlq_cli.main(svc.app, ["redrive", "--event-id", "no-such-id"]) == 1  # type: ignore[arg-type]
        assert '"not_found": "no-such-id"' in capsys.readouterr().out
        await dlq_cli.main(svc.app, ["list", "--all"])  # type: ignore[arg-type]
        assert '"redriven_by":"ops"' in capsys.readouterr().out


async def test_only_admins_see_dead_letters_and_a_redrive_must_name_something() -> None:
    async with flaky_service() as svc:
        assert (await svc.client.get("/admin/dlq")).status_code == 401
        r = await svc.client.get("/admin/dlq", headers=svc.auth("procurement"))
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
        r = await svc.client.post("/admin/dlq/redrive", json={}, headers=svc.auth("admin"))
        assert r.status_code == 422
        assert "records" in r.text
        elsewhere = {"topic": "backoffice.contracts.dlq", "partition": 0, "offset": 0}
        r = await svc.client.post("/admin/dlq/redrive", json={"records": [elsewhere]}, headers=svc.auth("admin"))
        assert r.status_code == 422
        assert "not a dead-letter topic of this service" in r.json()["detail"]
        r = await svc.client.post(
            "/admin/dlq/redrive",
            json={"records": [{"topic": "x", "partition": -1, "offset": 0}]},
            headers=svc.auth("admin"),
        )
        assert r.status_code == 422
