"""Checklists pages: my items done with their evidence, the HR view with progress and red flags,
one employee's checklist, template editing with inline errors and a preview for an employee."""

from __future__ import annotations

import json
import os
import uuid
from datetime import date, timedelta
from typing import Any

from console_testkit import axe_script, new_context, shot, sign_in, until
from playwright.async_api import Browser, Page, expect

from backoffice_cli.client import Cast

CONSOLE = os.environ.get("BACKOFFICE_CONSOLE_URL", "")


async def _start(platform: dict[str, Any], kind: str, employee: dict[str, Any]) -> dict[str, Any]:
    url = f"{platform['urls']['checklists']}/checklists"
    answer = await platform["client"].call(
        "POST", url, Cast.new("hr").admin, json={"kind": kind, "employee": employee}, expect=201
    )
    return answer.json()  # type: ignore[no-any-return]


async def _checklist(platform: dict[str, Any], checklist_id: str) -> dict[str, Any]:
    url = f"{platform['urls']['checklists']}/checklists/{checklist_id}"
    return (await platform["client"].call("GET", url, Cast.new("hr").admin)).json()  # type: ignore[no-any-return]


def _item(checklist: dict[str, Any], key: str) -> dict[str, Any]:
    return next(i for i in checklist["items"] if i["key"] == key)


async def test_checklists_pages_from_my_items_to_the_hr_view_and_templates(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    tag = uuid.uuid4().hex[:6]
    today = date.today()
    nora = await _start(
        console_platform,
        "onboarding",
        {
            "id": f"nora-{tag}",
            "name": f"Nora Neu {tag}",
            "language": "en",
            "department": "ENG",
            "location": "office",
            "manager_id": "max",
            "start_date": (today + timedelta(days=10)).isoformat(),
        },
    )
    # an offboarding whose last day is past: the access items escalate to security as red flags
    otto = await _start(
        console_platform,
        "offboarding",
        {
            "id": f"otto-{tag}",
            "name": f"Otto Alt {tag}",
            "language": "en",
            "department": "ENG",
            "location": "office",
            "manager_id": "max",
            "start_date": "2020-01-01",
            "last_day": (today - timedelta(days=2)).isoformat(),
        },
    )

    # max (the manager, German) works his items with their evidence
    page = await (await new_context(browser)).new_page()
    await sign_in(page, "max", "/checklists/mine")
    await expect(page.locator("h1")).to_have_text("Meine Checklisten-Aufgaben")
    welcome = page.locator(f"li.item[data-checklist='{nora['id']}'][data-item=welcome]")
    await expect(welcome).to_contain_text("Welcome on the first day")
    await welcome.get_by_role("button", name="Als erledigt markieren").click()
    await expect(page).to_have_url(CONSOLE + "/checklists/mine")
    await expect(page.locator(f"li.item[data-checklist='{nora['id']}'][data-item=welcome]")).to_have_count(0)
    # the goals need a second person's sign-off: empty, then himself, are refused next to the field
    goals = page.locator(f"li.item[data-checklist='{nora['id']}'][data-item=probation_goals]")
    await expect(goals).to_have_count(1)
    await goals.get_by_role("button", name="Gegenzeichnung erfassen und erledigen").click()
    goals = page.locator(f"li.item[data-checklist='{nora['id']}'][data-item=probation_goals]")
    field = goals.locator("input[name=signed_off_by]")
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(goals.locator(".field.invalid .error")).to_have_text("Bitte angeben, um die Aufgabe zu erledigen.")
    await field.fill("max")
    await goals.get_by_role("button", name="Gegenzeichnung erfassen und erledigen").click()
    goals = page.locator(f"li.item[data-checklist='{nora['id']}'][data-item=probation_goals]")
    await expect(goals.locator(".field.invalid .error")).to_contain_text("second person")
    await expect(goals.locator("input[name=signed_off_by]")).to_have_value("max")  # what was typed is kept
    await shot(page, "checklists-my-items")
    await goals.locator("input[name=signed_off_by]").fill("ada")
    await goals.get_by_role("button", name="Gegenzeichnung erfassen und erledigen").click()
    await expect(page.locator(f"li.item[data-checklist='{nora['id']}'][data-item=probation_goals]")).to_have_count(0)
    after = await _checklist(console_platform, nora["id"])
    assert _item(after, "welcome")["done_by"] == "max"
    assert _item(after, "probation_goals")["evidence"] == {"signed_off_by": "ada"}

    # the red flags appear once the access timers fired
    async def flagged() -> bool:
        return int((await _checklist(console_platform, otto["id"]))["red_flags"]) > 0

    await until("the late access revocations are red flags", flagged, timeout=60)

    # ada (admin = HR): every running checklist with its progress bar, overdue items and red flags
    hr = await (await new_context(browser)).new_page()
    await sign_in(hr, "ada", "/checklists")
    await expect(hr.locator("h1")).to_have_text("Checklists")
    nora_row = hr.locator(f"tr[data-checklist='{nora['id']}']")
    await expect(nora_row.locator("progress")).to_have_attribute("value", "2")
    await expect(nora_row).to_contain_text("2/")
    otto_row = hr.locator(f"tr[data-checklist='{otto['id']}']")
    await expect(otto_row).to_have_class("red")
    await expect(otto_row.locator("li.flag").first).to_contain_text("Red flag")
    await expect(otto_row).to_contain_text("Disable")  # accounts_disabled, late
    await expect(hr.locator(".alert")).to_contain_text("red flags")
    await shot(hr, "checklists-hr-view")

    # one employee's checklist: HR records the exit interview as held (a person, a date)
    await otto_row.get_by_role("link", name=otto["employee"]["name"]).click()
    await expect(hr.locator("h1")).to_contain_text(otto["employee"]["name"])
    interview = hr.locator("li.item[data-item=exit_interview]")
    await interview.locator("input[name=held_by]").fill("ada")
    await interview.locator("input[name=held_on]").fill((today - timedelta(days=3)).isoformat())
    await interview.get_by_role("button", name="Record interview as held").click()
    interview = hr.locator("li.item[data-item=exit_interview]")
    await expect(interview).to_have_attribute("data-status", "done")
    await expect(interview).to_contain_text("Done by ada")
    await expect(hr.locator("li.item[data-item=accounts_disabled]")).to_have_class("card item st-ready red")
    await shot(hr, "checklists-one-employee")
    assert _item(await _checklist(console_platform, otto["id"]), "exit_interview")["evidence"]["held_by"] == "ada"

    # templates: a broken edit is refused inline, a good one is a new version; the preview per employee
    await hr.goto(CONSOLE + "/checklists/templates")
    await hr.get_by_role("link", name="onboarding-de").click()
    await expect(hr.locator("h1")).to_contain_text("onboarding-de")
    items = json.loads(await hr.locator("#f-items").input_value())
    await hr.locator("#f-items").fill(json.dumps(items)[:-5])
    await hr.get_by_role("button", name="Save as new version").click()
    await expect(hr.locator("#e-items")).to_contain_text("Line 1")
    broken = [*items, {**items[0], "key": "extra", "depends_on": ["nowhere"]}]
    await hr.locator("#f-items").fill(json.dumps(broken))
    await hr.get_by_role("button", name="Save as new version").click()
    await expect(hr.locator("#e-items")).to_contain_text("nowhere")
    await expect(hr.locator("#f-items")).to_have_attribute("aria-invalid", "true")
    kept = [*items, {**items[0], "key": f"badge_photo_{tag}", "title": "Foto für den Ausweis", "depends_on": []}]
    await hr.locator("#f-items").fill(json.dumps(kept))
    await hr.get_by_role("button", name="Save as new version").click()
    await expect(hr.locator(".notice")).to_contain_text("Saved as version")
    await expect(hr.locator("h1")).not_to_contain_text("v1")

    async def preview(location: str) -> Page:
        await hr.locator("#p-name").fill("Paula Probe")
        await hr.locator("#p-location").fill(location)
        await hr.locator("#p-start_date").fill("2027-03-01")
        await hr.get_by_role("button", name="Preview", exact=True).click()
        await expect(hr.locator("table.preview")).to_be_visible()
        return hr

    await preview("remote")
    await expect(hr.locator(f"table.preview tr[data-item=badge_photo_{tag}]")).to_have_count(1)
    await expect(hr.locator("table.preview tr[data-item=workplace]")).to_have_count(0)  # office or hybrid only
    await expect(hr.locator("table.preview tr[data-item=contract_filed]")).to_contain_text("15 Feb 2027")
    await preview("office")
    await expect(hr.locator("table.preview tr[data-item=workplace]")).to_have_count(1)
    await shot(hr, "checklists-template-preview")
    await hr.locator("#p-start_date").fill("")
    await hr.get_by_role("button", name="Preview", exact=True).click()
    await expect(hr.locator("#pe-start_date")).to_have_text("Enter a date.")

    # rita: her (empty) items, but not the HR view
    rita = await (await new_context(browser)).new_page()
    await sign_in(rita, "rita", "/checklists/mine")
    await expect(rita.locator(".empty")).to_have_text("Nothing to do.")
    assert await rita.locator("nav a[href='/checklists']").count() == 0
    refused = await rita.goto(CONSOLE + "/checklists")
    assert refused is not None
    assert refused.status == 403
    refused = await rita.goto(CONSOLE + f"/checklists/{otto['id']}")  # neither HR, the employee nor the manager
    assert refused is not None
    assert refused.status == 403


async def test_the_checklists_pages_have_no_serious_accessibility_violations(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    tag = uuid.uuid4().hex[:6]
    started = await _start(
        console_platform,
        "onboarding",
        {
            "id": f"axel-{tag}",
            "name": f"Axel {tag}",
            "language": "de",
            "manager_id": "max",
            "start_date": (date.today() + timedelta(days=3)).isoformat(),
        },
    )
    pages = {
        "ada": [
            "/checklists",
            f"/checklists/{started['id']}",
            "/checklists/templates",
            "/checklists/templates/offboarding-en",
            "/checklists/mine",
        ],
        "max": ["/checklists/mine", f"/checklists/{started['id']}"],
    }
    found: dict[str, list[str]] = {}
    for user, paths in pages.items():
        page = await (await new_context(browser, bypass_csp=True)).new_page()
        await sign_in(page, user, paths[0])
        for path in paths:
            await page.goto(CONSOLE + path)
            await page.add_script_tag(path=str(axe_script()))
            result = await page.evaluate(
                "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            )
            serious = [v for v in result if v["impact"] in ("serious", "critical")]
            if serious:
                found[f"{user} {path}"] = [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in serious]
        await page.context.close()
    assert found == {}
