"""Absences and delegation: an approver names a delegate for days away, sees a field error for an
impossible range, cancels the absence; a requester gets neither the link nor the page."""

from __future__ import annotations

import os
from datetime import date, timedelta
from typing import Any

from console_testkit import new_context, shot, sign_in
from playwright.async_api import Browser, expect

CONSOLE = os.environ.get("BACKOFFICE_CONSOLE_URL", "")


async def test_an_approver_sets_and_cancels_an_absence_with_a_delegate(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    page = await (await new_context(browser)).new_page()
    await sign_in(page, "max", "/absences")  # German
    await expect(page.locator("h1")).to_have_text("Abwesenheiten")
    first, last = date.today() + timedelta(days=40), date.today() + timedelta(days=42)
    await page.fill("#f-delegate_id", "helga")
    await page.fill("#f-first_day", last.isoformat())
    await page.fill("#f-last_day", first.isoformat())
    await page.get_by_role("button", name="Abwesenheit speichern").click()
    await expect(page.locator("#e-last_day")).to_have_text("Der letzte Tag kann nicht vor dem ersten liegen.")
    await expect(page.locator("#f-last_day")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#f-delegate_id")).to_have_value("helga")  # what was typed is kept
    await page.fill("#f-first_day", first.isoformat())
    await page.fill("#f-last_day", last.isoformat())
    await page.get_by_role("button", name="Abwesenheit speichern").click()
    await expect(page).to_have_url(CONSOLE + "/absences")
    row = page.locator("tr[data-delegate=helga]").filter(has_text=f"{last:%d.%m.%Y}")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(f"{first:%d.%m.%Y}")
    await shot(page, "absences")
    await row.get_by_role("button", name="Abwesenheit aufheben").click()
    await expect(page.locator("tr[data-delegate=helga]").filter(has_text=f"{last:%d.%m.%Y}")).to_contain_text(
        "storniert"
    )

    rita = await (await new_context(browser)).new_page()
    await sign_in(rita, "rita", "/requests")
    assert await rita.locator("nav a[href='/absences']").count() == 0
    refused = await rita.goto(CONSOLE + "/absences")
    assert refused is not None
    assert refused.status == 403
