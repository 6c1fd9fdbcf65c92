"""The whole order through the console in a real browser, every person signing in on Keycloak's login page:
the requester drafts and submits, two approvers approve, the vendor answers (signed webhook), procurement
signs, the requester confirms receipt and closes. Plus the 403 page, CSRF refusal and sign-out."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from typing import Any

from console_testkit import (
    RITA,
    new_context,
    reload_until,
    shot,
    sign_in,
    sign_in_here,
    vendor_answers,
    vendor_known,
)
from playwright.async_api import Browser, expect

from backoffice_cli.client import Cast

CONSOLE = os.environ.get("BACKOFFICE_CONSOLE_URL", "")


async def email_link(client: Any, address: str, path: str) -> str:
    pattern = re.compile(re.escape(CONSOLE + path) + r"[0-9a-f-]{36}")

    async def newest() -> str | None:
        links = [m for mail in await client.mail_to(address) for m in pattern.findall(mail.get("text") or "")]
        return links[-1] if links else None

    return str(await client.eventually(f"an email to {address} with a link to {path}", newest))


async def test_an_order_from_draft_to_closed_through_the_console(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    client = console_platform["client"]
    cast = Cast.new()
    vendor = await client.create_vendor(cast)
    await vendor_known(client, cast, vendor)

    rita = await (await new_context(browser)).new_page()
    await sign_in(rita, "rita", "/requests/new")
    assert rita.url.startswith(CONSOLE + "/requests/new")
    await rita.fill("#f-title", "Laptops for the new team")
    await rita.fill("#f-vendor_id", vendor.id)
    await rita.fill("#f-cost_center", "CC-100")
    await expect(rita.locator("#f-department")).to_have_value("ENG")  # from the department claim
    await rita.fill("#f-category", "hardware")
    await rita.fill("#f-needed_by", (date.today() + timedelta(days=30)).isoformat())
    lines = rita.locator("tr[data-line]")
    await lines.nth(0).locator("[name=line_description]").fill('Laptop 14"')
    await lines.nth(0).locator("[name=line_quantity]").fill("10")
    await lines.nth(0).locator("[name=line_unit_price]").fill("1200")
    await rita.click("[data-add-line]")
    await lines.nth(1).locator("[name=line_description]").fill("Docking station")
    await lines.nth(1).locator("[name=line_quantity]").fill("5")
    await lines.nth(1).locator("[name=line_unit_price]").fill("149.90")
    await rita.click("[data-add-line]")
    await expect(lines).to_have_count(3)
    await lines.nth(2).locator("[data-remove-line]").click()
    await expect(lines).to_have_count(2)
    await expect(rita.locator("[data-total]")).to_have_text("€12,749.50")  # computed as you type
    await shot(rita, "new-request")
    await rita.click("button[type=submit].primary")
    await expect(rita.locator("[data-status]")).to_have_attribute("data-status", "draft")
    request_id = rita.url.rsplit("/", 1)[1]
    await expect(rita.locator("td.total")).to_have_text("€12,749.50")
    await rita.get_by_role("button", name="Submit for approval").click()
    await expect(rita.locator("[data-status]")).not_to_have_attribute("data-status", "draft")

    for approver in ("max", "helga"):
        page = await (await new_context(browser)).new_page()
        if approver == "max":
            await sign_in(page, approver, "/inbox")
            await reload_until(page, CONSOLE + "/inbox", "tr:has-text('Laptops for the new team') a")
            await shot(page, "approver-inbox")
            await page.locator("tr", has_text="Laptops for the new team").locator("a[href^='/tasks/']").click()
        else:  # helga follows the link in her approval email, signing in on the way
            link = await email_link(client, "helga@example.com", "/approvals/tasks/")
            await page.goto(link)
            await sign_in_here(page, approver)
            await expect(page).to_have_url(re.compile(re.escape(CONSOLE) + "/tasks/"))
        # max's locale claim is German, helga's English: money is formatted for each
        total = re.compile(r"^12\.749,50\s€$") if approver == "max" else re.compile("^€12,749.50$")
        await expect(page.locator(".total")).to_have_text(total)
        await page.fill("#comment", f"fine by {approver}")
        await page.locator("button[value=approved]").click()
        await expect(page).to_have_url(CONSOLE + "/inbox")
        await page.context.close()

    await vendor_answers(client, vendor, request_id)

    paul = await (await new_context(browser)).new_page()
    await sign_in(paul, "paul", "/contracts")
    await reload_until(paul, CONSOLE + "/contracts", "article.card:has-text('Laptops for the new team')")
    card = paul.locator("article.card", has_text="Laptops for the new team")
    await expect(card.locator("code.hash")).to_have_text(re.compile("^[0-9a-f]{64}$"))
    await shot(paul, "contracts-to-sign")
    await card.get_by_role("button", name="Sign for the buyer").click()
    await expect(paul.locator("article.card", has_text="Laptops for the new team")).to_have_count(0)
    await client.wait_status(RITA, request_id, "contract_executed", timeout=90)

    await reload_until(rita, f"{CONSOLE}/requests/{request_id}", "[data-status=contract_executed]")
    await expect(rita.locator("ol.chain li")).to_have_count(2)
    await rita.fill("#rcv-1", "10")
    await rita.fill("#rcv-2", "5")
    await rita.get_by_role("button", name="Confirm receipt").click()
    await expect(rita.locator("[data-status]")).to_have_attribute("data-status", "received")
    await rita.get_by_role("button", name="Close").click()
    await expect(rita.locator("[data-status]")).to_have_attribute("data-status", "closed")
    await shot(rita, "request-page")
    await rita.goto(CONSOLE + "/requests?status=closed")
    await expect(rita.locator("table.list")).to_contain_text("Laptops for the new team")
    await shot(rita, "my-requests")


async def test_a_user_without_the_role_gets_the_403_page(console_platform: dict[str, Any], browser: Browser) -> None:
    page = await (await new_context(browser)).new_page()
    await sign_in(page, "rita", "/requests")
    response = await page.goto(CONSOLE + "/admin")
    assert response is not None
    assert response.status == 403
    await expect(page.locator("h1")).to_have_text("Access denied")
    await expect(page.locator("main")).to_contain_text("requester")
    await shot(page, "forbidden")
    fiona = await (await new_context(browser)).new_page()
    await sign_in(fiona, "fiona", "/budgets")  # finance: budgets, but no approver's inbox
    answer = await fiona.goto(CONSOLE + "/inbox")
    assert answer is not None
    assert answer.status == 403
    await expect(fiona.locator("h1")).to_have_text("Zugriff verweigert")  # her locale claim is German


async def test_a_forged_form_without_the_csrf_token_is_refused(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    page = await (await new_context(browser)).new_page()
    await sign_in(page, "rita", "/requests")
    forged = await page.request.post(
        CONSOLE + "/requests/new", form={"title": "forged", "vendor_id": "x"}, max_redirects=0
    )
    assert forged.status == 403
    assert "expired" in await forged.text()
    wrong = await page.request.post(
        CONSOLE + "/requests/new", form={"title": "forged", "csrf_token": "guess"}, max_redirects=0
    )
    assert wrong.status == 403
    await page.goto(CONSOLE + "/requests?q=forged")
    await expect(page.locator("#rows")).not_to_contain_text("forged")


async def test_signing_out_ends_the_session(console_platform: dict[str, Any], browser: Browser) -> None:
    page = await (await new_context(browser)).new_page()
    await sign_in(page, "rita", "/requests")
    cookies_before = {c["name"]: c for c in await page.context.cookies()}
    assert cookies_before["bo_session"]["httpOnly"] is True
    assert cookies_before["bo_session"]["sameSite"] == "Lax"
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(CONSOLE + "/signed-out")
    # the old session cookie is worthless now, and Keycloak's session ended too: its login page comes back
    old = cookies_before["bo_session"]["value"]
    replay = await page.request.get(CONSOLE + "/requests", headers={"Cookie": f"bo_session={old}"}, max_redirects=0)
    assert replay.status == 303
    assert replay.headers["location"].startswith("/auth/login")
    await page.goto(CONSOLE + "/requests")
    await expect(page.locator("#username")).to_be_visible()
