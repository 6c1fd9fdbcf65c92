"""The console's browser tests: the four services and the console as real processes, Keycloak from
`make infra-up`/`make test` (deploy/infra.sh), Debian's Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, expect

from backoffice_cli.client import Cast, Person, Vendor

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "services" / "console" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The sample users of deploy/keycloak/backoffice-realm.json (passwords as printed by `make run`).
PASSWORDS = {
    "rita": "rita-requester",
    "max": "max-approver",
    "helga": "helga-approver",
    "paul": "paul-procurement",
    "ada": "ada-admin",
    "fiona": "fiona-finance",
}
DIRECTORY = json.loads((ROOT / "deploy" / "keycloak" / "directory.json").read_text())


def ensure_chromium() -> str:
    """Installs Debian's Chromium (apt-get, one-off) when it is missing: `make test` works from nothing."""
    if not os.path.exists(CHROMIUM):
        subprocess.run(["bash", str(ROOT / "deploy" / "chromium.sh")], check=True, timeout=1500)
    return CHROMIUM


AXE_VERSION = "4.14.1"


def axe_script() -> Path:
    """axe-core from npm (`npm pack`, cached under .state/npm): injected into pages by Playwright."""
    cache = ROOT / ".state" / "npm" / f"axe-core-{AXE_VERSION}"
    script = cache / "package" / "axe.min.js"
    if not script.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "pack", f"axe-core@{AXE_VERSION}", "--silent"],
            cwd=cache,
            check=True,
            timeout=300,
            capture_output=True,
        )
        subprocess.run(["tar", "xzf", f"axe-core-{AXE_VERSION}.tgz"], cwd=cache, check=True, timeout=60)
    return script


def console_env(urls: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CONSOLE_ENVIRONMENT": "development",
            "CONSOLE_PUBLIC_BASE_URL": os.environ["BACKOFFICE_CONSOLE_URL"],
            "CONSOLE_OIDC_ISSUER": os.environ["BACKOFFICE_OIDC_ISSUER"],
            "CONSOLE_OIDC_CLIENT_SECRET": os.environ["BACKOFFICE_CONSOLE_CLIENT_SECRET"],
            "CONSOLE_REQUESTS_URL": urls["requests"],
            "CONSOLE_APPROVALS_URL": urls["approvals"],
            "CONSOLE_NOTIFICATIONS_URL": urls["notifications"],
            "CONSOLE_CONTRACTS_URL": urls["contracts"],
            "CONSOLE_BUDGETS_URL": urls["budgets"],
            "CONSOLE_INSIGHTS_URL": urls["insights"],
            "CONSOLE_CHECKLISTS_URL": urls["checklists"],
        }
    )
    return env


def migrate_console(env: dict[str, str]) -> None:
    """The console's session table in its database (CONSOLE_DATABASE_URL)."""
    subprocess.run([sys.executable, "-m", "backoffice_console", "migrate"], env=env, check=True, timeout=300)


def start_console(env: dict[str, str], log_dir: Path, port: str | None = None) -> subprocess.Popen[bytes]:
    port = port or os.environ["BACKOFFICE_CONSOLE_PORT"]
    log = open(log_dir / "console.log", "ab")  # noqa: SIM115 - owned by the process
    return subprocess.Popen(
        [sys.executable, "-m", "backoffice_console", "serve", "--port", port],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=log_dir,
        start_new_session=True,
    )


async def new_context(browser: Browser, locale: str = "en-GB", *, bypass_csp: bool = False) -> BrowserContext:
    """``bypass_csp`` only for the accessibility check, which injects axe-core into the page."""
    return await browser.new_context(locale=locale, viewport={"width": 1280, "height": 900}, bypass_csp=bypass_csp)


async def sign_in(page: Page, user: str, path: str = "/") -> None:
    """Through Keycloak's real login page."""
    await page.goto(os.environ["BACKOFFICE_CONSOLE_URL"] + path)
    await sign_in_here(page, user)


async def sign_in_here(page: Page, user: str) -> None:
    """On the Keycloak login page the browser was sent to."""
    await page.locator("#username").fill(user)
    await page.locator("#password").fill(PASSWORDS[user])
    await page.locator("#kc-login").click()
    await expect(page.locator("header .user")).to_be_visible(timeout=30_000)


async def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


RITA = Person("rita", "Rita Requester", "rita@example.com", ("requester",), "ENG")


async def until(what: str, check: Callable[[], Awaitable[bool]], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(1)


async def reload_until(page: Page, url: str, selector: str, timeout: float = 90) -> None:
    async def visible() -> bool:
        await page.goto(url)
        return await page.locator(selector).count() > 0

    await until(f"{selector} on {url}", visible, timeout)


async def vendor_known(client: Any, cast: Cast, vendor: Vendor) -> None:
    """The requests service has heard of the new vendor (a throwaway draft is accepted)."""
    await client.create_draft(cast, client.draft(vendor, cast))


async def vendor_answers(client: Any, vendor: Vendor, request_id: str) -> None:
    await client.wait_status(RITA, request_id, "vendor_notified", timeout=90)
    await client.vendor_says(vendor, {"action": "accept", "request_id": request_id}, expect=(200, 409))
    await client.wait_status(RITA, request_id, "contract_pending", "contract_executed", timeout=90)
    buyer = Cast.new("sign").procurement
    contract = await client.contract_for(buyer, request_id)

    async def vendor_signs() -> Any:
        answer = await client.vendor_says(
            vendor,
            {
                "action": "sign_contract",
                "contract_id": contract["id"],
                "document_sha256": contract["document_sha256"],
                "signer_name": "Vera Vendor",
                "signer_email": vendor.emails[0],
            },
            expect=(200, 404, 409),
        )
        return None if answer.status_code == 404 else answer

    await client.eventually("the vendor signs", vendor_signs)

    async def signed() -> bool:
        current = await client.contract_for(buyer, request_id)
        return any(s["party"] == "vendor" for s in current["signatures"])

    await client.eventually("the vendor's signature", signed)
