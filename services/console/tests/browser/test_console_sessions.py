"""Sessions in the console's database: a signed-in browser keeps its session over a console restart,
a second console instance serves the same session, and signing out on one ends it on the other."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
from console_testkit import new_context, sign_in, start_console
from platform_kit import free_ports
from playwright.async_api import Browser, expect

CONSOLE = os.environ.get("BACKOFFICE_CONSOLE_URL", "")


async def _ready(url: str, timeout: float = 90) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(int(timeout / 0.5)):
            try:
                if (await http.get(url + "/readyz", timeout=5)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise TimeoutError(url)


async def test_a_session_survives_a_restart_and_is_shared_by_two_instances(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    context = await new_context(browser)
    page = await context.new_page()
    await sign_in(page, "rita", "/requests")
    cookie = next(c["value"] for c in await context.cookies() if c["name"] == "bo_session")

    # a second instance on another port, same database and key
    port = str(free_ports(1)[0])
    second = start_console(console_platform["console_env"], console_platform["work"], port=port)
    console_platform["consoles"].append(second)
    other = f"http://127.0.0.1:{port}"
    await _ready(other)
    async with httpx.AsyncClient(cookies={"bo_session": cookie}, follow_redirects=False) as http:
        answer = await http.get(other + "/requests")
        assert answer.status_code == 200
        assert "Rita" in answer.text

        # the first instance restarts: the browser is still signed in, without a new sign-in
        first = console_platform["consoles"][0]
        first.terminate()
        await asyncio.to_thread(first.wait, 20)
        console_platform["consoles"][0] = start_console(console_platform["console_env"], console_platform["work"])
        await _ready(CONSOLE)
        await page.goto(CONSOLE + "/requests")
        await expect(page).to_have_url(CONSOLE + "/requests")
        await expect(page.locator("header .user")).to_be_visible()

        # signing out in the browser (first instance) ends the session on the second one too
        await page.get_by_role("button", name="Sign out").click()
        await expect(page).to_have_url(CONSOLE + "/signed-out", timeout=30_000)
        refused = await http.get(other + "/requests")
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/auth/login")
