"""The whole platform for the cross-service tests: four services as real processes, real Kafka,
PostgreSQL and SMTP sink (from `make test`), a vendor's system as a real HTTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from otlp_receiver_kit import OtlpReceiver
from platform_kit import JWT_SECRET, Platform, launch_platform
from vendor_system_kit import VendorSystem

from backoffice_cli.client import Cast, Endpoints
from backoffice_cli.client import Platform as Client

# Routing used by every cross-service test: the manager approves everything; the department head
# too from 10,000 EUR. Orders under 100 EUR get a 3-second deadline (the escalation test uses them).
# An order over its cost centre's budget (budget.checked) also needs the cost centre's owner; the
# other tests use cost centres without a budget (no_budget), which adds no step.
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
        {
            "name": "cost_centre_owner",
            "when": {"budget_statuses": ["over_budget"]},
            "approvers": {"kind": "cost_centre_owner"},
            "due_seconds": 3600,
        },
    ],
}


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """Where every service process exports its traces (OTLP/HTTP), as it would to a collector."""
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory, otlp_receiver: OtlpReceiver) -> AsyncIterator[Platform]:
    tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    async with launch_platform(tmp_path_factory.mktemp("platform"), common=tracing) as the_platform:
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
