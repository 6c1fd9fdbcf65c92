"""The budgets page (utilisation bars, the ledger of one budget), the budget check on the request and task
pages, and the insights page with its server-drawn charts: what finance, approvers and procurement see,
and that the roles without them get neither the link nor the page."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import replace
from datetime import date
from typing import Any

from console_testkit import RITA, new_context, reload_until, shot, sign_in, vendor_answers, vendor_known
from playwright.async_api import Browser, expect

from backoffice_cli.client import Cast, Person

CONSOLE = os.environ.get("BACKOFFICE_CONSOLE_URL", "")
FIONA = Person("fiona", "Fiona Finance", "fiona@example.com", ("finance",), "ENG")
MAX = Person("max", "Max Manager", "max@example.com", ("approver",), "ENG")


async def _budget(client: Any, budgets_url: str, amount: str) -> tuple[str, str]:
    """A cost centre owned by Helga with a budget for this month: (cost centre, budget id)."""
    cost_center = f"CC-{uuid.uuid4().hex[:6].upper()}"
    owner = {"id": "helga", "name": "Helga Head", "email": "helga@example.com"}
    body = {"id": cost_center, "name": f"Team {cost_center}", "owner": owner, "department": "ENG"}
    await client.call("POST", f"{budgets_url}/cost-centres", FIONA, json=body, expect=201)
    period = f"{date.today():%Y-%m}"
    budget = {"cost_center": cost_center, "period": period, "currency": "EUR", "amount": amount}
    created = await client.call("POST", f"{budgets_url}/budgets", FIONA, json=budget, expect=201)
    return cost_center, str(created.json()["id"])


async def test_budgets_page_and_the_budget_check_on_the_task_page(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    client = console_platform["client"]
    cost_center, budget_id = await _budget(client, console_platform["urls"]["budgets"], "5000.00")
    cast = Cast.new()
    vendor = await client.create_vendor(cast)
    await vendor_known(client, cast, vendor)
    body = {**client.draft(vendor, cast, quantity=3, unit_price="1200.00"), "cost_center": cost_center}
    body["title"] = f"Budgeted laptops {cost_center}"
    body["lines"] = body["lines"][:1]
    draft = await client.create_draft(
        replace(cast, requester=RITA), {**body, "department": RITA.department}
    )  # 3,600 EUR of 5,000
    await client.submit(replace(cast, requester=RITA), draft["id"])

    fiona = await (await new_context(browser)).new_page()
    await sign_in(fiona, "fiona", "/")  # finance lands on the budgets page
    await expect(fiona).to_have_url(re.compile(re.escape(CONSOLE) + "/budgets"))
    row = fiona.locator(f"tr[data-cost-center='{cost_center}']")
    await reload_until(fiona, CONSOLE + f"/budgets?cost_center={cost_center}", "svg rect[data-kind=reserved]")
    await expect(row.locator("td.remaining")).to_have_text(re.compile(r"^1\.400,00\s€$"))  # her locale is German
    await expect(row.locator("svg[role=img]")).to_have_count(1)
    reserved_width = float(await row.locator("rect[data-kind=reserved]").get_attribute("width") or "0")
    assert round(reserved_width / 220, 2) == 0.72  # 3,600 of 5,000 drawn on a 220-unit bar
    await fiona.goto(CONSOLE + "/budgets")
    await shot(fiona, "budgets")
    await fiona.goto(CONSOLE + f"/budgets/{budget_id}")
    await expect(fiona.locator("table.ledger tr[data-kind=allocated]")).to_have_count(1)
    await expect(fiona.locator("table.ledger tr[data-kind=reserved]")).to_contain_text("3.600,00")
    await expect(fiona.locator("[data-available]")).to_have_text(re.compile(r"^1\.400,00\s€$"))
    await shot(fiona, "budget-ledger")
    csv = await fiona.request.get(CONSOLE + f"/budgets/{budget_id}/ledger.csv")
    assert csv.status == 200
    assert (await csv.text()).splitlines()[0].startswith("seq,id,kind,amount")
    assert await fiona.locator("nav a[href='/insights']").count() == 0  # insights: procurement and admin
    forbidden = await fiona.goto(CONSOLE + "/insights")
    assert forbidden is not None
    assert forbidden.status == 403

    max_ = await (await new_context(browser)).new_page()
    await sign_in(max_, "max", "/inbox")
    await reload_until(max_, CONSOLE + "/inbox", f"tr:has-text('{body['title']}') a")
    await max_.locator("tr", has_text=body["title"]).locator("a[href^='/tasks/']").click()
    await expect(max_.locator("[data-budget-check]")).to_have_attribute("data-budget-check", "within_budget")
    await expect(max_.locator("[data-budget-check]")).to_contain_text("im Budget")
    await shot(max_, "task-budget-check")

    rita = await (await new_context(browser)).new_page()
    await sign_in(rita, "rita", f"/requests/{draft['id']}")
    await expect(rita.locator("[data-status]")).to_have_attribute("data-status", "submitted")
    await expect(rita.locator("[data-budget-check]")).to_have_count(0)  # the budgets API does not serve requesters
    assert await rita.locator("nav a[href='/budgets']").count() == 0
    refused = await rita.goto(CONSOLE + "/budgets")
    assert refused is not None
    assert refused.status == 403


async def test_an_over_budget_request_shows_by_how_much(console_platform: dict[str, Any], browser: Browser) -> None:
    client = console_platform["client"]
    cost_center, _ = await _budget(client, console_platform["urls"]["budgets"], "1000.00")
    cast = Cast.new()
    vendor = await client.create_vendor(cast)
    await vendor_known(client, cast, vendor)
    body = {**client.draft(vendor, cast, quantity=1, unit_price="1500.00"), "cost_center": cost_center}
    body["title"] = f"Too dear {cost_center}"
    body["lines"] = body["lines"][:1]
    draft = await client.create_draft(replace(cast, requester=RITA), {**body, "department": RITA.department})
    await client.submit(replace(cast, requester=RITA), draft["id"])
    paul = await (await new_context(browser, "en-GB")).new_page()
    await sign_in(paul, "paul", f"/requests/{draft['id']}")
    await reload_until(paul, CONSOLE + f"/requests/{draft['id']}", "[data-budget-check=over_budget]")
    await expect(paul.locator("[data-budget-check]")).to_contain_text("over budget by €500.00")
    await expect(paul.locator("dl.facts")).to_contain_text("Needed by")
    await shot(paul, "request-over-budget")


async def test_insights_page_draws_charts_from_the_insights_api(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    client = console_platform["client"]
    cast = Cast.new()
    vendor = await client.create_vendor(cast)
    await vendor_known(client, cast, vendor)
    body = {**client.draft(vendor, cast, quantity=2), "title": f"Insightful order {uuid.uuid4().hex[:6]}"}
    body["department"] = "ENG"
    draft = await client.create_draft(replace(cast, requester=RITA), {**body, "department": RITA.department})
    await client.submit(replace(cast, requester=RITA), draft["id"])
    task = await client.task_for(MAX, draft["id"])
    await client.decide(MAX, task["id"], "approved")
    await vendor_answers(client, vendor, draft["id"])
    await client.buyer_signs(cast, await client.contract_for(cast.procurement, draft["id"]))
    await client.wait_status(RITA, draft["id"], "contract_executed", timeout=90)  # spend is committed now

    paul = await (await new_context(browser)).new_page()
    await sign_in(paul, "paul", "/insights")
    await reload_until(paul, CONSOLE + "/insights", "#cycle tr[data-stage=approval]")
    await reload_until(paul, CONSOLE + "/insights", "#spend tr[data-group=ENG]")
    await reload_until(paul, CONSOLE + "/insights", "#approvers tr[data-approver=max]")
    await expect(paul.locator("h1")).to_have_text("Insights")
    for section in ("#cycle", "#stages", "#approvers", "#spend"):
        chart = paul.locator(f"{section} svg[role=img]")
        await expect(chart).to_have_count(1)
        assert await chart.locator("rect[data-value]").count() >= 1
        await expect(paul.locator(f"{section} table.list")).to_have_count(1)  # the figures as a table too
    await expect(paul.locator("#cycle tr[data-stage=approval] td").first).to_have_text("Approval")
    await expect(paul.locator("#spend tr[data-group=ENG]")).to_have_count(1)
    await shot(paul, "insights")
    csv = await paul.request.get(CONSOLE + "/insights/approvers.csv")
    assert csv.status == 200
    assert "approver_id" in (await csv.text()).splitlines()[0]
    missing = await paul.request.get(CONSOLE + "/insights/nothing.csv")
    assert missing.status == 404

    max_ = await (await new_context(browser)).new_page()
    await sign_in(max_, "max", "/inbox")
    assert await max_.locator("nav a[href='/insights']").count() == 0
    assert await max_.locator("nav a[href='/budgets']").count() == 1  # approvers read budgets
    refused = await max_.goto(CONSOLE + "/insights")
    assert refused is not None
    assert refused.status == 403
