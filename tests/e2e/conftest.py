"""The whole platform for the cross-service tests: four services as real processes, real Kafka,
PostgreSQL and SMTP sink (from `make test`), a vendor's system as a real HTTP server."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from cryptography.fernet import Fernet
from otlp_receiver_kit import OtlpReceiver
from platform_kit import (
    JWT_SECRET,
    SERVICES,
    Platform,
    ServiceProcess,
    create_databases,
    drop_databases,
    free_port,
    service_env,
)
from vendor_system_kit import VendorSystem

from backoffice_cli.client import Cast, Endpoints
from backoffice_cli.client import Platform as Client
from backoffice_common.testing import unique_prefix

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
    prefix = unique_prefix()
    work = tmp_path_factory.mktemp("platform")
    urls = await create_databases(SERVICES)
    ports = {name: free_port() for name in SERVICES}
    mailbox = os.environ["BACKOFFICE_MAILBOX_URL"]
    extra = {
        # Off: the other tests draft for CC-100, which no test defines (tests/e2e/test_budgets.py sets one up).
        "requests": {"REQUESTS_REQUIRE_KNOWN_COST_CENTRE": "false"},
        # budgets runs here and checks each submission within a second or two; 15 s only bounds a lost check.
        "approvals": {"APPROVALS_TIMER_POLL_SECONDS": "0.3", "APPROVALS_BUDGET_CHECK_WAIT_SECONDS": "15"},
        "notifications": {
            "NOTIFICATIONS_SMTP_HOST": os.environ["BACKOFFICE_SMTP_HOST"],
            "NOTIFICATIONS_SMTP_PORT": os.environ["BACKOFFICE_SMTP_PORT"],
            "NOTIFICATIONS_SECRET_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "NOTIFICATIONS_LINK_SIGNING_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "NOTIFICATIONS_DELIVERY_BACKOFF_INITIAL_SECONDS": "0.5",
            "NOTIFICATIONS_DELIVERY_BACKOFF_MAX_SECONDS": "2",
            "NOTIFICATIONS_DELIVERY_POLL_INTERVAL_SECONDS": "0.3",
            "NOTIFICATIONS_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['notifications']}",
        },
        "contracts": {
            "CONTRACTS_LINK_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
            "CONTRACTS_PKI_DIR": str(work / "pki"),
            "CONTRACTS_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['contracts']}",
            "CONTRACTS_EXPIRY_POLL_SECONDS": "1",
        },
        "insights": {"INSIGHTS_METRICS_REFRESH_SECONDS": "1"},
        "budgets": {},
    }
    tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    services = {
        name: ServiceProcess(
            name,
            service_env(name, database_url=urls[name], prefix=prefix, extra={**tracing, **extra.get(name, {})}),
            work,
            ports=[ports[name]],
        )
        for name in SERVICES
    }
    await asyncio.gather(*(asyncio.to_thread(s.migrate) for s in services.values()))
    for s in services.values():
        s.start()
    the_platform = Platform(prefix=prefix, services=services, databases=list(urls.values()), mailbox_url=mailbox)
    try:
        await the_platform.wait_healthy()
        yield the_platform
    finally:
        for s in services.values():
            s.stop()
        await drop_databases(urls.values())


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
