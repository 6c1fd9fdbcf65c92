"""The console's browser tests: the four services and the console as real processes, Keycloak from
`make infra-up`/`make test` (deploy/infra.sh), Debian's Chromium driven by Playwright."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page, expect

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
        }
    )
    return env


def start_console(env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    port = os.environ["BACKOFFICE_CONSOLE_PORT"]
    log = open(log_dir / "console.log", "ab")  # noqa: SIM115 - owned by the process
    return subprocess.Popen(
        [sys.executable, "-m", "backoffice_console", "serve", "--port", port],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=log_dir,
        start_new_session=True,
    )


async def new_context(browser: Browser, locale: str = "en-GB") -> BrowserContext:
    return await browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})


async def sign_in(page: Page, user: str, path: str = "/") -> None:
    """Through Keycloak's real login page."""
    await page.goto(os.environ["BACKOFFICE_CONSOLE_URL"] + path)
    await page.locator("#username").fill(user)
    await page.locator("#password").fill(PASSWORDS[user])
    await page.locator("#kc-login").click()
    await expect(page.locator("header .user")).to_be_visible(timeout=30_000)


async def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
