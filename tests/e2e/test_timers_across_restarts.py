"""Timers live in the database: a reminder, an escalation and a contract expiry pending while their
service is killed all fire once, on time (or, when their time passed while the service was down,
as soon as it is back)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from platform_kit import JWT_SECRET, Platform, launch_platform

from backoffice_cli.client import Cast, Endpoints, Vendor
from backoffice_cli.client import Platform as Client
from backoffice_common.events import CloudEvent
from backoffice_common.testing import TopicReader

DUE_SECONDS = 40  # the reminder at half of it
SIGNATURE_SECONDS = 30
SLACK = timedelta(seconds=3)  # timer poll, a commit and the relay

POLICY = {
    "name": "timers",
    "base_currency": "EUR",
    "steps": [{"name": "manager", "approvers": {"kind": "manager", "levels": 1}, "due_seconds": DUE_SECONDS}],
}


@pytest.fixture(scope="module")
async def timed_platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    overrides = {
        "contracts": {
            "CONTRACTS_SIGNATURE_TTL_HOURS": str(SIGNATURE_SECONDS / 3600),
            "CONTRACTS_EXPIRY_POLL_SECONDS": "0.5",
        }
    }
    async with launch_platform(Path(tmp_path_factory.mktemp("timers")), overrides) as platform:
        yield platform


@pytest.fixture
async def timed_client(timed_platform: Platform) -> AsyncIterator[Client]:
    endpoints = Endpoints(
        *(timed_platform.url(s) for s in ("requests", "approvals", "notifications", "contracts")),
        mailbox=timed_platform.mailbox_url,
    )
    client = Client(endpoints=endpoints, jwt_secret=JWT_SECRET, timeout=90)
    await client.call("POST", f"{endpoints.approvals}/policies", Cast.new("setup").admin, json=POLICY, expect=201)
    yield client
    await client.aclose()


async def submitted(client: Client, cast: Cast, vendor: Vendor) -> str:
    draft = await client.create_draft(cast, client.draft(vendor, cast))
    await client.submit(cast, str(draft["id"]))
    return str(draft["id"])


async def killed_until(platform: Platform, service: str, moment: datetime) -> datetime:
    """``kill -9`` now, start again at ``moment``; returns when the service is ready again."""
    platform.services[service].kill()
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))
    platform.services[service].restart()
    await platform.wait_healthy([service])
    return datetime.now(UTC)


def only(events: list[CloudEvent], **data: str) -> CloudEvent:
    matching = [e for e in events if all(e.data.get(k) == v for k, v in data.items())]
    assert len(matching) == 1, f"{len(matching)} events where one was due: {[e.data for e in matching]}"
    return matching[0]


async def test_reminders_escalations_and_expiries_pending_across_a_kill_9_fire_once_on_time(
    timed_platform: Platform, timed_client: Client
) -> None:
    client = timed_client
    cast = Cast.new()
    await client.load_directory(cast)
    vendor = await client.create_vendor(cast)
    prefix, bootstrap = (
        timed_platform.prefix,
        timed_platform.services["requests"].env["REQUESTS_KAFKA_BOOTSTRAP_SERVERS"],
    )
    async with (
        TopicReader(bootstrap, f"{prefix}backoffice.approvals") as approvals,
        TopicReader(bootstrap, f"{prefix}backoffice.contracts") as contracts,
    ):
        # Order B gets a contract that nobody signs: it expires 30 s after it was generated.
        signed_by_nobody = await submitted(client, cast, vendor)
        await client.decide(cast.manager, (await client.task_for(cast.manager, signed_by_nobody))["id"], "approved")
        await client.wait_status(cast.requester, signed_by_nobody, "vendor_notified")
        await client.vendor_says(vendor, {"action": "accept", "request_id": signed_by_nobody}, expect=(200, 409))
        contract = await client.contract_for(cast.procurement, signed_by_nobody)
        expires_at = datetime.fromisoformat(contract["expires_at"])
        # Order A waits for its approver: reminder after 20 s, escalation after 40 s.
        waiting = await submitted(client, cast, vendor)
        task = await client.task_for(cast.manager, waiting)
        due_at = datetime.fromisoformat(task["due_at"])
        remind_at = due_at - timedelta(seconds=DUE_SECONDS / 2)
        assert datetime.now(UTC) < min(remind_at, expires_at), "the set-up took longer than the timers' delays"

        # Approvals is down when the reminder falls due, back before the escalation;
        # contracts is down when the contract expires.
        approvals_back, contracts_back = await asyncio.gather(
            killed_until(timed_platform, "approvals", remind_at + timedelta(seconds=1)),
            killed_until(timed_platform, "contracts", expires_at + timedelta(seconds=1)),
        )
        assert approvals_back < due_at, "approvals took too long to start again for this test"
        await approvals.wait_for("approval.escalated", subject=waiting, timeout=60)
        await contracts.wait_for("contract.expired", subject=signed_by_nobody, timeout=60)
        await asyncio.sleep(3)  # a second firing would show up by now

    reminder = only(approvals.of_type("approval.reminder_due", subject=waiting), task_id=task["id"])
    assert remind_at <= reminder.time <= approvals_back + SLACK
    escalated = only(approvals.of_type("approval.escalated", subject=waiting), task_id=task["id"])
    assert due_at <= escalated.time <= due_at + SLACK
    assert escalated.data["to"]["id"] == cast.head.id
    expired = only(contracts.of_type("contract.expired", subject=signed_by_nobody), contract_id=contract["id"])
    assert expires_at <= expired.time <= contracts_back + SLACK
    assert (await client.contract_for(cast.procurement, signed_by_nobody))["status"] == "expired"
