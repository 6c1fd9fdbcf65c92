"""Fixtures of the browser tests: the platform with RS256 tokens from the real Keycloak, the console, Chromium."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from console_testkit import CHROMIUM_ARGS, DIRECTORY, console_env, ensure_chromium, migrate_console, start_console
from cryptography.fernet import Fernet
from platform_kit import JWT_SECRET, ServiceProcess, create_databases, drop_databases, free_ports, service_env
from playwright.async_api import Browser, async_playwright

from backoffice_cli.client import Cast, Endpoints
from backoffice_cli.client import Platform as Client
from backoffice_common.testing import object_store_settings, unique_prefix

# The console drives the order flow and shows budgets and insights: the six services it calls.
# Approvals routes at once (no wait for the budget check: the pages show the check once budgets made
# it) and requests takes any cost centre (the flows draft for CC-100, which no budget test defines).
SERVICES = ("requests", "approvals", "notifications", "contracts", "budgets", "insights", "checklists")
ORDER_SERVICES = ("requests", "approvals", "notifications", "contracts")

POLICY = {
    "name": "console",
    "base_currency": "EUR",
    "steps": [
        {
            "name": "manager",
            "when": {"amount_min": "1"},
            "approvers": {"kind": "manager", "levels": 1},
            "due_seconds": 3600,
        },
        {
            "name": "head",
            "when": {"amount_min": "10000"},
            "approvers": {"kind": "department_head"},
            "due_seconds": 7200,
        },
    ],
}


async def _wait_ready(url: str, timeout: float = 90) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient() as http:
        while True:
            try:
                if (await http.get(url, timeout=5)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{url} not ready within {timeout}s")
            await asyncio.sleep(0.3)


@pytest.fixture(scope="session")
async def console_platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    """The four services verifying Keycloak's RS256 tokens (and, in development, the tests' HS256 ones), and the console."""
    await _wait_ready(os.environ["BACKOFFICE_OIDC_ISSUER"] + "/.well-known/openid-configuration", timeout=30)
    prefix = unique_prefix()
    work = tmp_path_factory.mktemp("console")
    urls = await create_databases((*SERVICES, "console"))
    console_db = urls.pop("console")
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    oidc = {
        "ENVIRONMENT": "development",
        "JWT_ALGORITHM": "RS256",
        "JWT_JWKS_URL": os.environ["BACKOFFICE_OIDC_JWKS_URL"],
        "JWT_ISSUER": os.environ["BACKOFFICE_OIDC_ISSUER"],
    }
    extra: dict[str, dict[str, str]] = {
        "requests": {"REQUESTS_REQUIRE_KNOWN_COST_CENTRE": "false"},
        "approvals": {"APPROVALS_TIMER_POLL_SECONDS": "0.5", "APPROVALS_BUDGET_CHECK_WAIT_SECONDS": "0"},
        "notifications": {
            "NOTIFICATIONS_SMTP_HOST": os.environ["BACKOFFICE_SMTP_HOST"],
            "NOTIFICATIONS_SMTP_PORT": os.environ["BACKOFFICE_SMTP_PORT"],
            "NOTIFICATIONS_SECRET_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "NOTIFICATIONS_LINK_SIGNING_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "NOTIFICATIONS_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['notifications']}",
            "NOTIFICATIONS_APP_BASE_URL": os.environ["BACKOFFICE_CONSOLE_URL"],
            # a webhook that cannot be reached fails within seconds (the operations page retries it)
            "NOTIFICATIONS_DELIVERY_MAX_ATTEMPTS": "2",
            "NOTIFICATIONS_DELIVERY_BACKOFF_INITIAL_SECONDS": "0.5",
            "NOTIFICATIONS_DELIVERY_BACKOFF_MAX_SECONDS": "1",
            "NOTIFICATIONS_DELIVERY_POLL_INTERVAL_SECONDS": "0.3",
        },
        "contracts": {
            "CONTRACTS_LINK_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
            "CONTRACTS_PKI_DIR": str(work / "pki"),
            "CONTRACTS_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['contracts']}",
            # the PDFs go to the S3Proxy that deploy/infra.sh starts
            **{
                f"CONTRACTS_{name.upper()}": str(value)
                for name, value in object_store_settings(f"{prefix}contracts/").items()
            },
        },
        "budgets": {},
        "insights": {"INSIGHTS_METRICS_REFRESH_SECONDS": "1"},
        "checklists": {"CHECKLISTS_TIMER_POLL_SECONDS": "0.5"},
    }
    services = {}
    for name in SERVICES:
        env = service_env(name, database_url=urls[name], prefix=prefix, extra=extra[name])
        env.update({f"{name.upper()}_{k}": v for k, v in oidc.items()})
        services[name] = ServiceProcess(name, env, work, ports=[ports[name]])
    # two at a time: six migrations at once on a busy machine ran past their timeout
    gate = asyncio.Semaphore(2)

    async def migrate(service: ServiceProcess) -> None:
        async with gate:
            await asyncio.to_thread(service.migrate)

    await asyncio.gather(*(migrate(s) for s in services.values()))
    for s in services.values():
        s.start()
    base = {name: f"http://127.0.0.1:{ports[name]}" for name in SERVICES}
    env = {
        **console_env(base),
        "CONSOLE_DATABASE_URL": console_db,
        "CONSOLE_SESSION_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    await asyncio.to_thread(migrate_console, env)
    consoles = [start_console(env, work)]
    try:
        await asyncio.gather(*(s.wait_healthy() for s in services.values()))
        await _wait_ready(os.environ["BACKOFFICE_CONSOLE_URL"] + "/readyz")
        client = Client(
            endpoints=Endpoints(mailbox=os.environ["BACKOFFICE_MAILBOX_URL"], **{s: base[s] for s in ORDER_SERVICES}),
            jwt_secret=JWT_SECRET,
        )
        admin = Cast.new("setup").admin
        await client.call("POST", f"{base['approvals']}/policies", admin, json=POLICY, expect=201)
        await client.call("POST", f"{base['approvals']}/directory/approvers/import", admin, json=DIRECTORY)
        yield {"urls": base, "client": client, "work": work, "prefix": prefix, "console_env": env, "consoles": consoles}
        await client.aclose()
    finally:
        for console in consoles:
            console.terminate()
            console.wait(timeout=20)
        for s in services.values():
            s.stop()
        await drop_databases([*urls.values(), console_db])


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    path = await asyncio.to_thread(ensure_chromium)
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield b
        await b.close()
