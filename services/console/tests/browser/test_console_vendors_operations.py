"""Procurement manages vendors (create with a field error first, edit, block, unblock); the admin's
operations page retries a failed delivery and redrives a dead-lettered event; other roles get neither."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from typing import Any

from aiokafka import AIOKafkaProducer
from console_testkit import RITA, new_context, reload_until, shot, sign_in, vendor_known
from platform_kit import free_ports
from playwright.async_api import Browser, expect

from backoffice_cli.client import Cast, Person

CONSOLE = os.environ.get("BACKOFFICE_CONSOLE_URL", "")
MAX = Person("max", "Max Manager", "max@example.com", ("approver",), "ENG")


async def test_procurement_creates_edits_blocks_and_unblocks_a_vendor(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    name = f"Kontor {uuid.uuid4().hex[:6]} AG"
    paul = await (await new_context(browser)).new_page()
    await sign_in(paul, "paul", "/vendors")
    await paul.get_by_role("link", name="New vendor").click()
    await paul.fill("#f-legal_name", name)
    await paul.fill("#f-address", "Hafenstraße 1, 20457 Hamburg")
    await paul.fill("#f-contact_emails", "sales@kontor.example\nnot-an-email")
    await paul.get_by_role("button", name="Save vendor").click()
    # the service's error, next to the field (a generous wait: the answer crosses two services on a busy machine)
    await expect(paul.locator("#e-contact_emails")).to_be_visible(timeout=30_000)
    await expect(paul.locator("#f-contact_emails")).to_have_attribute("aria-invalid", "true")
    await expect(paul.locator("#f-legal_name")).to_have_value(name)
    await paul.fill("#f-contact_emails", "sales@kontor.example\norders@kontor.example")
    await paul.get_by_role("button", name="Save vendor").click()
    row = paul.locator("tr[data-vendor]", has_text=name)
    await expect(row).to_have_attribute("data-status", "active", timeout=30_000)
    await expect(row).to_contain_text("orders@kontor.example")
    await row.get_by_role("link", name=f"Edit {name}").click()
    await paul.fill("#f-legal_name", name + " (Nord)")
    await paul.get_by_role("button", name="Save vendor").click()
    row = paul.locator("tr[data-vendor]", has_text=name + " (Nord)")
    await expect(row).to_have_count(1, timeout=30_000)
    await row.get_by_role("button", name=f"Block {name} (Nord)").click()
    blocked = paul.locator("tr[data-vendor]", has_text=name)
    await expect(blocked).to_have_attribute("data-status", "blocked", timeout=30_000)
    await shot(paul, "vendors")
    await paul.locator("tr[data-vendor]", has_text=name).get_by_role("button", name=f"Unblock {name} (Nord)").click()
    await expect(paul.locator("tr[data-vendor]", has_text=name)).to_have_attribute(
        "data-status", "active", timeout=30_000
    )

    rita = await (await new_context(browser)).new_page()
    await sign_in(rita, "rita", "/requests")
    assert await rita.locator("nav a[href='/vendors']").count() == 0
    refused = await rita.goto(CONSOLE + "/vendors")
    assert refused is not None
    assert refused.status == 403


async def test_the_admin_retries_a_failed_delivery_and_redrives_a_dead_letter(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    client = console_platform["client"]
    cast = Cast.new()
    [closed_port] = free_ports(1)  # nothing listens there: the webhook delivery fails
    vendor = await client.create_vendor(cast, webhook_url=f"http://127.0.0.1:{closed_port}/hook")
    await vendor_known(client, cast, vendor)
    draft = await client.create_draft(
        replace(cast, requester=RITA), {**client.draft(vendor, cast, quantity=1), "department": RITA.department}
    )
    await client.submit(replace(cast, requester=RITA), draft["id"])
    await client.decide(MAX, (await client.task_for(MAX, draft["id"]))["id"], "approved")

    producer = AIOKafkaProducer(bootstrap_servers=os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"])
    await producer.start()
    try:  # a record no consumer can read: every consumer of the topic dead-letters it
        await producer.send_and_wait(console_platform["prefix"] + "backoffice.requests", b"not a cloudevent", b"poison")
    finally:
        await producer.stop()

    ada = await (await new_context(browser)).new_page()
    await sign_in(ada, "ada", "/admin/operations")
    failed = f"#deliveries tr[data-delivery]:has-text('{draft['id'][:8]}')"
    await reload_until(ada, CONSOLE + "/admin/operations", failed)
    await reload_until(ada, CONSOLE + "/admin/operations", "#dlq tr[data-service=budgets] button")
    await expect(ada.locator("#dlq tr[data-service=budgets]").first).to_contain_text("undecodable")
    await shot(ada, "operations")
    delivery_id = await ada.locator(failed).first.get_attribute("data-delivery")
    url = f"{client.endpoints.notifications}/deliveries/{delivery_id}"
    before = (await client.call("GET", url, cast.procurement)).json()
    assert before["status"] == "failed"
    await ada.locator(failed).first.get_by_role("button", name="Retry").click()
    await expect(ada).to_have_url(CONSOLE + "/admin/operations#deliveries")

    async def retried() -> bool:  # fresh attempts: pending again, or tried again since (and failed again)
        now = (await client.call("GET", url, cast.procurement)).json()
        return bool(now["status"] == "pending" or now["next_attempt_at"] != before["next_attempt_at"])

    await client.eventually("the delivery is retried", retried)
    await ada.locator("#dlq tr[data-service=budgets]").first.get_by_role("button", name="Redrive").click()
    await expect(ada.locator("[data-redriven]")).to_have_attribute("data-redriven", "redriven")

    paul = await (await new_context(browser)).new_page()
    await sign_in(paul, "paul", "/contracts")
    assert await paul.locator("nav a[href='/admin/operations']").count() == 0
    refused = await paul.goto(CONSOLE + "/admin/operations")
    assert refused is not None
    assert refused.status == 403
