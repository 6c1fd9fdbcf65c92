"""Admin editors: the approver directory (CSV import with a per-row report, editing one person with
the service's field errors) and the approval policy (YAML with its errors inline, a dry run of a
sample request under the draft, saving a version)."""

from __future__ import annotations

import os
import uuid
from typing import Any

from console_testkit import axe_script, new_context, shot, sign_in
from playwright.async_api import Browser, expect

from backoffice_cli.client import Cast

CONSOLE = os.environ.get("BACKOFFICE_CONSOLE_URL", "")


async def test_an_admin_imports_and_edits_approvers(console_platform: dict[str, Any], browser: Browser) -> None:
    tag = uuid.uuid4().hex[:6]
    page = await (await new_context(browser)).new_page()
    await sign_in(page, "ada", "/admin")
    header = "id,name,email,manager_id,department,head_of,groups,limit_amount,limit_currency,active\n"
    await page.locator("#f-csv").fill(
        header + f"ivy-{tag},Ivy {tag},ivy-{tag}@example.com,helga,ENG,,,,,true\n"
        f"jon-{tag},Jon {tag},jon-{tag}@example.com,helga,ENG,,,lots,EUR,true\n"
    )
    await page.get_by_role("button", name="Import", exact=True).click()
    report = page.locator("table.import-errors")
    await expect(report.locator("tr[data-row='3']")).to_contain_text("limit_amount")  # the second row after the header
    await expect(page.locator(f"tr[data-approver='ivy-{tag}']")).to_have_count(0)  # all or nothing
    await page.locator("#f-csv").fill(
        header + f"ivy-{tag},Ivy {tag},ivy-{tag}@example.com,helga,ENG,,,,,true\n"
        f"jon-{tag},Jon {tag},jon-{tag}@example.com,helga,ENG,,,,,true\n"
    )
    await page.get_by_role("button", name="Import", exact=True).click()
    await expect(page.locator(".notice")).to_contain_text("2")
    await expect(page.locator(f"tr[data-approver='ivy-{tag}']")).to_have_count(1)

    await page.locator(f"tr[data-approver='jon-{tag}']").get_by_role("link").click()
    await expect(page.locator("#f-name")).to_have_value(f"Jon {tag}")
    await page.locator("#f-limit_amount").fill("viel")
    await page.locator("#f-limit_currency").fill("EUR")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#e-limit_amount")).to_be_visible()
    await expect(page.locator("#f-limit_amount")).to_have_attribute("aria-invalid", "true")
    await page.locator("#f-limit_amount").fill("5000")
    await page.locator("#f-limit_currency").fill("EUR")
    await page.locator("#f-email").fill(f"jon.{tag}@example.com")
    await page.locator("#f-groups").fill("it, facilities")
    await page.get_by_role("button", name="Save").click()
    await expect(page).to_have_url(CONSOLE + "/admin")
    await expect(page.locator(f"tr[data-approver='jon-{tag}']")).to_contain_text("facilities, it")
    url = f"{console_platform['urls']['approvals']}/directory/approvers/jon-{tag}"
    stored = (await console_platform["client"].call("GET", url, Cast.new("x").admin)).json()
    assert stored["email"] == f"jon.{tag}@example.com"
    assert sorted(stored["groups"]) == ["facilities", "it"]


async def test_an_admin_edits_a_policy_with_inline_errors_and_a_dry_run(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    page = await (await new_context(browser)).new_page()
    await sign_in(page, "ada", "/admin/policies")
    await expect(page.locator("h1")).to_have_text("Approval policy")
    original = await page.locator("#f-policy").input_value()
    assert "department_head" in original

    # the active policy on a 12,000 EUR request of rita's: her manager, then the head of ENG
    await page.locator("#s-requester_id").fill("rita")
    await page.locator("#s-department").fill("ENG")
    await page.locator("#s-total").fill("12,000")
    await page.get_by_role("button", name="Dry run").click()
    await expect(page.locator(".dry-run li[data-step]")).to_have_count(2)
    await expect(page.locator(".dry-run li[data-step=manager]")).to_contain_text("Max")
    await expect(page.locator(".dry-run li[data-step=head]")).to_contain_text("Helga")

    # the draft raises the head's threshold: the same request needs only the manager
    await page.locator("#f-policy").fill(original.replace("'10000'", "'20000'").replace("10000", "20000"))
    await page.get_by_role("button", name="Dry run").click()
    await expect(page.locator(".dry-run li[data-step]")).to_have_count(1)
    await shot(page, "console-policy-dry-run")

    # a YAML mistake and an invalid policy are shown next to the document, with what was typed kept
    await page.locator("#f-policy").fill("name: broken\n  steps: [\n")
    await page.get_by_role("button", name="Dry run").click()
    await expect(page.locator("#e-policy")).to_contain_text("Line 2")
    invalid = original.replace("kind: manager", "kind: nobody")
    await page.locator("#f-policy").fill(invalid)
    await page.get_by_role("button", name="Save as new version").click()
    await expect(page.locator("#e-policy")).to_contain_text("steps")
    await expect(page.locator("#f-policy")).to_have_value(invalid)
    versions = (
        await console_platform["client"].call(
            "GET", f"{console_platform['urls']['approvals']}/policies", Cast.new("x").admin
        )
    ).json()

    # saving the unchanged document adds a version (routing stays as it was for the other tests)
    await page.locator("#f-policy").fill(original)
    await page.get_by_role("button", name="Save as new version").click()
    await expect(page.locator(".notice")).to_contain_text(f"Saved as version {versions[0]['version'] + 1}")

    axe = await (await new_context(browser, bypass_csp=True)).new_page()
    await sign_in(axe, "ada", "/admin/policies")
    found = {}
    for path in ("/admin/policies", "/admin", "/admin/directory/max"):
        await axe.goto(CONSOLE + path)
        await axe.add_script_tag(path=str(axe_script()))
        result = await axe.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
        serious = [f"{v['id']}: {v['help']}" for v in result if v["impact"] in ("serious", "critical")]
        if serious:
            found[path] = serious
    assert found == {}

    rita = await (await new_context(browser)).new_page()
    await sign_in(rita, "rita", "/requests")
    refused = await rita.goto(CONSOLE + "/admin/policies")
    assert refused is not None
    assert refused.status == 403
