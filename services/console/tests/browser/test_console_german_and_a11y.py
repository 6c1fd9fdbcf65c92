"""The German interface on one flow, and an accessibility check (axe-core) of every page."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from console_testkit import RITA, axe_script, new_context, reload_until, shot, sign_in, vendor_known
from playwright.async_api import Browser, Page, expect

from backoffice_cli.client import Cast

CONSOLE = os.environ.get("BACKOFFICE_CONSOLE_URL", "")


async def test_the_german_interface_from_draft_to_approval(console_platform: dict[str, Any], browser: Browser) -> None:
    client = console_platform["client"]
    cast = Cast.new()
    vendor = await client.create_vendor(cast)
    await vendor_known(client, cast, vendor)
    rita = await (await new_context(browser)).new_page()
    await sign_in(rita, "rita", "/requests/new")
    await expect(rita.locator("h1")).to_have_text("New request")
    await rita.select_option("#locale-switch", "de")  # switchable: rita's claim says English
    await expect(rita.locator("h1")).to_have_text("Neuer Antrag")
    await rita.fill("#f-title", "Monitore für das Team")
    await rita.fill("#f-vendor_id", vendor.id)
    await rita.fill("#f-cost_center", "CC-200")
    await rita.fill("#f-category", "hardware")
    await rita.fill("#f-needed_by", (date.today() + timedelta(days=20)).isoformat())
    line = rita.locator("tr[data-line]").nth(0)
    await line.locator("[name=line_description]").fill("Monitor 27 Zoll")
    await line.locator("[name=line_quantity]").fill("4")
    await line.locator("[name=line_unit_price]").fill("1.249,75")  # German digits
    await expect(rita.locator("[data-total]")).to_have_text(re.compile(r"^4\.999,00\s€$"))
    await rita.get_by_role("button", name="Entwurf speichern").click()
    await expect(rita.locator("td.total")).to_have_text(re.compile(r"^4\.999,00\s€$"))
    await expect(rita.locator("[data-status]")).to_have_text("Entwurf")
    await rita.get_by_role("button", name="Zur Freigabe einreichen").click()
    await expect(rita.locator("[data-status]")).to_have_text(re.compile("eingereicht|freigegeben"))
    request_id = rita.url.rsplit("/", 1)[1]
    await reload_until(rita, f"{CONSOLE}/requests/{request_id}", "p.waiting")
    await expect(rita.locator("p.waiting")).to_contain_text("Wartet auf: Max Manager")
    # the timeline's notes in the reader's language, not the requester's directory language (English)
    timeline = rita.locator("#live-timeline")
    await expect(timeline).to_contain_text("Zur Freigabe eingereicht")
    await expect(timeline).to_contain_text("Wartet auf die Freigabe von Max Manager")  # the service's note
    await expect(timeline).not_to_contain_text("Submitted for approval")
    await expect(timeline).not_to_contain_text("Waiting for the approval")
    # a note that only repeats its label is not shown; one term for approval on the whole page
    for label in ("Entwurf angelegt", "Zur Freigabe eingereicht"):
        await expect(timeline.locator("li", has_text=label).locator(".note")).to_have_count(0)
    await expect(timeline.locator("li", has_text="Freigabeaufgabe zugewiesen").locator(".note")).to_have_count(1)
    await expect(rita.locator("body")).not_to_contain_text(re.compile("Genehmig", re.IGNORECASE))
    await shot(rita, "request-page-de")

    max_ = await (await new_context(browser)).new_page()
    await sign_in(max_, "max", "/inbox")  # max's locale claim is German
    await reload_until(max_, CONSOLE + "/inbox", "tr:has-text('Monitore für das Team') a")
    await expect(max_.locator("h1")).to_have_text("Posteingang")
    await max_.locator("tr", has_text="Monitore für das Team").locator("a[href^='/tasks/']").click()
    await max_.get_by_role("button", name="Freigeben").click()
    await expect(max_).to_have_url(CONSOLE + "/inbox")
    await reload_until(rita, f"{CONSOLE}/requests/{request_id}", "ol.chain li.d-approved")
    await expect(rita.locator("ol.chain")).to_contain_text("freigegeben")
    await client.wait_status(RITA, request_id, "approved", "vendor_notified", timeout=60)


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(axe_script()))
    result = await page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [v for v in result if v["impact"] in ("serious", "critical")]


async def test_every_page_has_no_serious_accessibility_violations(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    client = console_platform["client"]
    cast = Cast.new()
    vendor = await client.create_vendor(cast)
    draft = await client.create_draft(
        replace(cast, requester=RITA), {**client.draft(vendor, cast), "department": RITA.department}
    )
    pages = {
        "rita": ["/requests", "/requests/new", f"/requests/{draft['id']}", f"/requests/{draft['id']}/edit", "/admin"],
        "max": ["/inbox", "/absences", "/budgets"],
        "paul": ["/contracts", "/vendors", "/vendors/new", "/insights", f"/requests/{draft['id']}"],
        "ada": ["/admin", "/admin/operations"],
        "fiona": ["/budgets"],
    }
    found: dict[str, list[str]] = {}
    for user, paths in pages.items():
        page = await (await new_context(browser, bypass_csp=True)).new_page()
        await sign_in(page, user, paths[0])
        for path in paths:
            await page.goto(CONSOLE + path)
            violations = await axe_violations(page)
            if violations:
                found[f"{user} {path}"] = [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in violations]
        await page.context.close()
    assert found == {}


async def test_the_new_request_form_is_usable_by_keyboard(console_platform: dict[str, Any], browser: Browser) -> None:
    page = await (await new_context(browser)).new_page()
    await sign_in(page, "rita", "/requests/new")
    reached: list[str] = []
    for _ in range(40):
        await page.keyboard.press("Tab")
        reached.append(
            await page.evaluate(
                "document.activeElement.id || document.activeElement.name || document.activeElement.textContent.trim()"
            )
        )
    for expected in ("f-title", "f-vendor_id", "line_description", "line_unit_price", "+ Add line", "Save draft"):
        assert expected in reached, reached
