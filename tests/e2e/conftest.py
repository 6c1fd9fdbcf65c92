"""The whole platform for the cross-service tests: four services as real processes, real Kafka,
PostgreSQL and SMTP sink (from `make test`), a vendor's system as a real HTTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from platform_kit import JWT_SECRET, Platform, launch_platform
from vendor_system_kit import VendorSystem

from backoffice_cli.client import Cast, Endpoints
from backoffice_cli.client import Platform as Client

# Routing used by every cross-service test: the manager approves everything; the department head
# too from 10,000 EUR. Orders under 100 EUR get a 3-second deadline (the escalation test uses them).
E2E_POLICY = {
    "name": "e2e",
    "base_currency": "EUR",
    "steps": [
        {
            "name": "quick_manager",
            "when": {"amount_max": "99.99"},
            "approvers": {"kind": "manager", "levels": 1},
            "due_seconds": 3,
        },
        {
            "name": "manager",
            "when": {"amount_min": "100"},
            "approvers": {"kind": "manager", "levels": 1},
            "due_seconds": 3600,
        },
        {
            "name": "head",
            "when": {"amount_min": "10000"},
            "approvers": {"kind": "department_head"},
            "due_seconds": 3600,
        },
    ],
}


@pytest.fixture(scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    async with launch_platform(tmp_path_factory.mktemp("platform")) as the_platform:
        yield the_platform


@pytest.fixture(scope="session")
async def client(platform: Platform) -> AsyncIterator[Client]:
    endpoints = Endpoints(
        requests=platform.url("requests"),
        approvals=platform.url("approvals"),
        notifications=platform.url("notifications"),
        contracts=platform.url("contracts"),
        mailbox=platform.mailbox_url,
    )
    c = Client(endpoints=endpoints, jwt_secret=JWT_SECRET, timeout=60)
    admin = Cast.new("setup").admin
    await c.call("POST", f"{endpoints.approvals}/policies", admin, json=E2E_POLICY, expect=201)
    yield c
    await c.aclose()


@pytest.fixture
async def cast(client: Client) -> Cast:
    people = Cast.new()
    await client.load_directory(people)
    return people


@pytest.fixture
def vendor_system() -> AsyncIterator[VendorSystem]:
    system = VendorSystem().start()
    yield system  # type: ignore[misc]
    system.stop()
