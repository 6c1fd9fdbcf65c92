"""Crashes, a Kafka outage and several instances per service, with flows running through them."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections import Counter
from pathlib import Path

from platform_kit import SERVICES, Platform

from backoffice_cli.client import Cast, Vendor
from backoffice_cli.client import Platform as Client
from backoffice_cli.flow import FlowResult, walk

ROOT = Path(__file__).resolve().parents[2]


async def assert_no_duplicate_effects(client: Client, cast: Cast, vendor: Vendor, results: list[FlowResult]) -> None:
    """Exactly one purchase-order email and one contract per order, and every order closed."""
    mail = await client.mail_to(vendor.emails[0])
    orders_mailed = Counter(
        number
        for m in mail
        for number in (r.number for r in results)
        if m["subject"].startswith(f"Purchase order {number}:")
    )
    for result in results:
        assert orders_mailed[result.number] == 1, f"{result.number} was mailed {orders_mailed[result.number]} times"
        contracts = await client.call(
            "GET", f"{client.endpoints.contracts}/contracts", cast.procurement, params={"request_id": result.request_id}
        )
        assert len(contracts.json()) == 1
        assert (await client.request(cast.requester, result.request_id))["status"] == "closed"
        notified = [e for e in result.timeline if e["type"] == "vendor.notified"]
        assert len(notified) == 1


async def setup(client: Client) -> tuple[Cast, Vendor]:
    cast = Cast.new()
    await client.load_directory(cast)
    vendor = await client.create_vendor(cast)
    return cast, vendor


async def test_killing_each_service_in_turn_mid_flow_completes_every_flow_once(
    platform: Platform, client: Client
) -> None:
    cast, vendor = await setup(client)
    client.timeout = 120
    flows = [asyncio.create_task(walk(client, cast, vendor)) for _ in range(4)]
    for name in SERVICES:
        await asyncio.sleep(2)
        service = platform.services[name]
        service.kill()
        await asyncio.sleep(0.5)
        service.restart()
        await platform.wait_healthy([name])
    results = await asyncio.gather(*flows)
    await assert_no_duplicate_effects(client, cast, vendor, list(results))


async def test_kafka_stopped_for_ten_seconds_mid_flow_delays_but_completes_every_flow(
    platform: Platform, client: Client
) -> None:
    cast, vendor = await setup(client)
    client.timeout = 180
    flows = [asyncio.create_task(walk(client, cast, vendor)) for _ in range(3)]
    await asyncio.sleep(3)
    infra("stop", "kafka")
    try:
        await asyncio.sleep(10)
        # While Kafka is down the REST writes still succeed; their events wait in the outboxes.
        draft = await client.create_draft(cast, client.draft(vendor, cast))
        assert draft["status"] == "draft"
        submitted = await client.submit(cast, draft["id"])
        assert submitted["status"] == "submitted"
    finally:
        infra("start", "kafka")
    results = await asyncio.gather(*flows)
    await assert_no_duplicate_effects(client, cast, vendor, list(results))
    await client.task_for(cast.manager, draft["id"], timeout=120)


async def test_two_instances_of_every_service_complete_fifty_concurrent_flows_without_duplicates(
    platform: Platform, client: Client
) -> None:
    cast, vendor = await setup(client)
    client.timeout = 300
    client.poll_interval = 1.0
    for service in platform.services.values():
        service.add_instance()
    try:
        await platform.wait_healthy()
        results = await asyncio.gather(*(walk(client, cast, vendor) for _ in range(50)))
        await assert_no_duplicate_effects(client, cast, vendor, list(results))
    finally:
        client.poll_interval = 0.25
        for service in platform.services.values():
            service.remove_instance(1)


def infra(action: str, component: str) -> None:
    subprocess.run(
        ["bash", str(ROOT / "deploy" / "infra.sh"), action, component], check=True, timeout=180, env=dict(os.environ)
    )
