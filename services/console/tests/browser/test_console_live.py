"""Live pages: an open request page and an open task page follow what happens elsewhere (polling
with a version: 204 while nothing changed), without a reload."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import httpx
from console_testkit import RITA, new_context, sign_in, vendor_known
from playwright.async_api import Browser, expect

from backoffice_cli.client import Cast, Person

CONSOLE = os.environ.get("BACKOFFICE_CONSOLE_URL", "")
MAX = Person("max", "Max Manager", "max@example.com", ("approver",), "ENG")


async def test_the_request_and_task_pages_update_while_open(console_platform: dict[str, Any], browser: Browser) -> None:
    client = console_platform["client"]
    cast = Cast.new()
    vendor = await client.create_vendor(cast)
    await vendor_known(client, cast, vendor)
    mine = replace(cast, requester=RITA)
    draft = await client.create_draft(mine, {**client.draft(vendor, cast), "department": RITA.department})
    await client.submit(mine, draft["id"])
    task = await client.task_for(MAX, draft["id"])

    rita = await (await new_context(browser)).new_page()
    await sign_in(rita, "rita", f"/requests/{draft['id']}")
    await expect(rita.locator("#live")).to_have_count(1)
    version = await rita.locator("#live").get_attribute("data-version")
    assert version

    # unchanged: the poll is answered 204, a plain client gets 304 for the ETag
    cookies = {c["name"]: c["value"] for c in await rita.context.cookies()}
    async with httpx.AsyncClient(cookies=cookies, follow_redirects=False) as http:
        url = f"{CONSOLE}/requests/{draft['id']}"
        page = await http.get(url)
        current = page.headers["etag"].strip('"')
        polled = await http.get(url, params={"since": current}, headers={"HX-Request": "true"})
        assert polled.status_code == 204
        assert (await http.get(url, headers={"If-None-Match": f'"{current}"'})).status_code == 304

    max_ = await (await new_context(browser)).new_page()
    await sign_in(max_, "max", f"/tasks/{task['id']}")
    await expect(max_.locator("#live-task-status [data-status]")).to_have_text("offen")
    await max_.locator("#comment").fill("getippt")  # the task is decided elsewhere meanwhile (the API)

    await client.decide(MAX, task["id"], "approved")
    # no reload: rita's status, chain and timeline follow
    await expect(rita.locator("ol.chain li.d-approved")).to_have_count(1, timeout=30_000)
    # the draft's total also needs the head of ENG: rita's page now says it waits on helga
    await expect(rita.locator("#live-waiting")).to_contain_text("Helga", timeout=30_000)
    assert await rita.locator("#live").get_attribute("data-version") != version
    await expect(max_.locator("#live-notice .notice")).to_be_visible(timeout=30_000)
    await expect(max_.locator("#live-decision form")).to_have_count(0)
