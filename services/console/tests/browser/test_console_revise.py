"""Editing a draft, and the changes-requested round trip in the browser: the approver asks for changes,
the requester revises, the approver sees what changed since the last revision and approves. The timeline
speaks in words, not event types."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import replace
from typing import Any

from console_testkit import RITA, new_context, reload_until, shot, sign_in, vendor_known
from playwright.async_api import Browser, expect

from backoffice_cli.client import Cast

CONSOLE = os.environ.get("BACKOFFICE_CONSOLE_URL", "")


async def test_edit_a_draft_then_changes_requested_revised_and_approved(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    client = console_platform["client"]
    cast = Cast.new()
    vendor = await client.create_vendor(cast)
    await vendor_known(client, cast, vendor)
    title = f"Laptops to revise {uuid.uuid4().hex[:6]}"
    body = {**client.draft(vendor, cast, quantity=2), "title": title, "department": "ENG"}
    draft = await client.create_draft(replace(cast, requester=RITA), {**body, "department": RITA.department})
    request_page = f"{CONSOLE}/requests/{draft['id']}"

    rita = await (await new_context(browser)).new_page()
    await sign_in(rita, "rita", f"/requests/{draft['id']}")
    await rita.get_by_role("link", name="Edit draft").click()
    await expect(rita.locator("h1")).to_contain_text("Edit draft")
    await expect(rita.locator("#f-title")).to_have_value(title)
    lines = rita.locator("tr[data-line]")
    await expect(lines).to_have_count(2)
    await expect(lines.nth(0).locator("[name=line_unit_price]")).to_have_value("1200.00")
    await rita.fill("#f-title", title + " (edited)")
    await lines.nth(0).locator("[name=line_quantity]").fill("3")
    await expect(rita.locator("[data-total]")).to_have_text("€4,349.50")
    await shot(rita, "request-edit")
    await rita.get_by_role("button", name="Save draft").click()
    await expect(rita).to_have_url(request_page)
    await expect(rita.locator("h1")).to_contain_text(title + " (edited)")
    await expect(rita.locator("td.total")).to_have_text("€4,349.50")
    await expect(rita.locator("[data-status]")).to_have_attribute("data-status", "draft")
    await rita.get_by_role("button", name="Submit for approval").click()
    await expect(rita.locator("[data-status]")).to_have_attribute("data-status", "submitted")

    max_ = await (await new_context(browser)).new_page()
    await sign_in(max_, "max", "/inbox")  # German
    row = f"tr:has-text('{title}') a"
    await reload_until(max_, CONSOLE + "/inbox", row)
    await max_.locator(row).click()
    await expect(max_.locator("[data-diff]")).to_have_count(0)  # the first revision: nothing to compare
    await max_.fill("#comment", "Bitte nur zwei Laptops")
    await max_.get_by_role("button", name="Änderungen anfordern").click()
    await expect(max_).to_have_url(CONSOLE + "/inbox")

    await reload_until(rita, request_page, "[data-status=changes_requested]")
    await expect(rita.locator("ol.chain")).to_contain_text("Bitte nur zwei Laptops")
    await expect(rita.locator("ol.timeline")).to_contain_text("Changes requested")
    await expect(rita.locator("ol.timeline")).not_to_contain_text("purchase_request.")
    await rita.get_by_role("link", name="Revise").click()
    await expect(rita.locator("h1")).to_contain_text("Revise request")
    await expect(rita.locator("[data-asked]")).to_contain_text("Max Manager: Bitte nur zwei Laptops")
    await rita.locator("tr[data-line]").nth(0).locator("[name=line_quantity]").fill("2")
    await rita.fill("#f-comment", "Two laptops only")
    await expect(rita.locator("[data-total]")).to_have_text("€3,149.50")
    await shot(rita, "request-revise")
    await rita.get_by_role("button", name="Resubmit for approval").click()
    await expect(rita).to_have_url(request_page)
    await expect(rita.locator("[data-status]")).to_have_attribute("data-status", "submitted")
    await expect(rita.locator("td.total")).to_have_text("€3,149.50")

    await reload_until(max_, CONSOLE + "/inbox", row)
    await max_.locator(row).click()
    diff = max_.locator("[data-diff]")
    await expect(diff).to_contain_text("Änderungen seit Revision 1")  # editing a draft makes no revision
    await expect(diff.locator("li[data-change=changed]")).to_contain_text(re.compile(r"Menge\s+3(\.0+)?\s+→\s+2"))
    await expect(max_.locator(".total")).to_have_text(re.compile(r"^3\.149,50\s€$"))
    await shot(max_, "task-revision-diff")
    await max_.get_by_role("button", name="Freigeben").click()
    await expect(max_).to_have_url(CONSOLE + "/inbox")
    await client.wait_status(RITA, draft["id"], "approved", "vendor_notified", timeout=60)
    await rita.goto(request_page)
    await expect(rita.locator("ol.timeline")).to_contain_text("Revised and resubmitted")
    await expect(rita.locator("ol.timeline [data-type='approval.task_decided']").first).to_have_text(
        "Approval decision"
    )
    await shot(rita, "request-timeline")


async def test_a_stale_edit_is_refused_with_the_form_kept(console_platform: dict[str, Any], browser: Browser) -> None:
    client = console_platform["client"]
    cast = Cast.new()
    vendor = await client.create_vendor(cast)
    await vendor_known(client, cast, vendor)
    draft = await client.create_draft(
        replace(cast, requester=RITA), {**client.draft(vendor, cast), "title": "Stale", "department": RITA.department}
    )
    rita = await (await new_context(browser)).new_page()
    await sign_in(rita, "rita", f"/requests/{draft['id']}/edit")
    await rita.fill("#f-title", "Mine")
    # meanwhile the draft changes elsewhere (another tab): the version the form carries is stale
    await client.call(
        "PATCH",
        f"{client.endpoints.requests}/requests/{draft['id']}",
        RITA,
        json={"title": "Theirs"},
        headers={"If-Match": f'"{draft["version"]}"'},
    )
    async with rita.expect_response(lambda r: r.request.method == "POST") as answer:
        await rita.get_by_role("button", name="Save draft").click()
    assert (await answer.value).status == 409
    await expect(rita.locator("[role=alert]")).to_contain_text("changed meanwhile")
    await expect(rita.locator("#f-title")).to_have_value("Mine")  # what she typed is kept
    current = await client.request(RITA, draft["id"])
    assert current["title"] == "Theirs"
