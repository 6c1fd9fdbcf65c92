"""Admin: contract templates (a refused upload's reason inline, an upload, the preview PDF, four eyes on
the activation); procurement: a new webhook secret sent to a vendor (post-redirect-get: the page names the
contact once, a reload sends nothing; the SMTP sink holds the retrieval mail). axe finds nothing serious on either page."""

from __future__ import annotations

import os
import uuid
from typing import Any

from console_testkit import axe_script, new_context, shot, sign_in
from playwright.async_api import Browser, Page, expect

from backoffice_cli.client import SECRET_RETRIEVALS, Cast

CONSOLE = os.environ.get("BACKOFFICE_CONSOLE_URL", "")


async def serious_violations(page: Page) -> list[str]:
    await page.add_script_tag(path=str(axe_script()))
    found = await page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")]


async def test_an_admin_uploads_previews_and_a_second_admin_activates_a_contract_template(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    client = console_platform["client"]
    contracts = console_platform["urls"]["contracts"]
    second_admin = Cast.new("second").admin
    versions = (await client.call("GET", f"{contracts}/contract-templates", second_admin)).json()
    active = next(v for v in versions if v["language"] == "de" and v["status"] == "active")
    source = (await client.call("GET", f"{contracts}/contract-templates/de/{active['version']}", second_admin)).json()
    tag = uuid.uuid4().hex[:6]
    # the active text with a typst comment more: it renders the same, so the other tests' contracts do not change
    body = source["body"] + f"\n// console test {tag}\n"

    ada = await (await new_context(browser, bypass_csp=True)).new_page()
    await sign_in(ada, "ada", "/admin")
    await ada.locator("nav a[href='/admin/contract-templates']").click()
    await expect(ada.locator(f"tr[data-template='de-{active['version']}']")).to_have_attribute("data-status", "active")

    # a template that does not compile: the sandbox's reason next to the field, what was typed kept
    await ada.locator("#f-language").select_option("de")
    await ada.locator("#f-description").fill(f"broken {tag}")
    await ada.locator("#f-body").fill("#let x = (")
    await ada.get_by_role("button", name="Upload version").click()
    await expect(ada.locator("#e-body")).to_be_visible(timeout=30_000)
    await expect(ada.locator("#f-body")).to_have_attribute("aria-invalid", "true")
    await expect(ada.locator("#f-body")).to_have_value("#let x = (")
    await expect(ada.locator("#f-description")).to_have_value(f"broken {tag}")
    await expect(ada.locator("#f-language")).to_have_value("de")
    assert await ada.locator(f"tr[data-template]:has-text('broken {tag}')").count() == 0

    await ada.locator("#f-description").fill(f"console {tag}")
    await ada.locator("#f-body").fill(body)
    await ada.get_by_role("button", name="Upload version").click()
    await expect(ada.locator("[data-notice=added]")).to_be_visible(timeout=30_000)
    row = ada.locator("tr[data-template]", has_text=f"console {tag}")
    await expect(row).to_have_attribute("data-status", "pending")
    template_id = str(await row.get_attribute("data-template"))
    version = int(template_id.split("-")[1])
    assert version > active["version"]
    await expect(ada.locator(f"[data-shown='{template_id}'] textarea")).to_have_value(body)
    assert await serious_violations(ada) == []
    await shot(ada, "contract_templates")

    # the preview PDF, proxied by the console with ada's session (the link's target, fetched with her cookies)
    href = await row.get_by_role("link", name=f"Preview PDF de {version}").get_attribute("href")
    assert href == f"/admin/contract-templates/de/{version}/preview.pdf"
    pdf = await ada.context.request.get(CONSOLE + href)
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert (await pdf.body()).startswith(b"%PDF-")
    anonymous = await browser.new_context()
    redirected = await anonymous.request.get(CONSOLE + href, max_redirects=0)
    assert redirected.status == 303  # no session, no PDF: to the sign-in
    await anonymous.close()

    # four eyes: the uploader may not activate her own version
    await row.get_by_role("button", name=f"Activate de {version}").click()
    await expect(ada.locator("[data-refusal]")).to_contain_text("a second admin must activate it")
    await expect(ada.locator(f"tr[data-template='de-{version}']")).to_have_attribute("data-status", "pending")

    # the realm has one admin user: the second admin activates through the API, the page shows the new status
    await client.call("POST", f"{contracts}/contract-templates/de/{version}/activation", second_admin, expect=200)
    await ada.goto(CONSOLE + "/admin/contract-templates")
    await expect(ada.locator(f"tr[data-template='de-{version}']")).to_have_attribute("data-status", "active")
    await expect(ada.locator(f"tr[data-template='de-{active['version']}']")).to_have_attribute(
        "data-status", "superseded"
    )
    await expect(ada.locator(f"tr[data-template='de-{version}'] button")).to_have_count(0)
    # the page in German (switched in the header)
    await ada.select_option("#locale-switch", "de")
    await expect(ada.locator("h1")).to_have_text("Vertragsvorlagen")
    await expect(ada.locator(f"tr[data-template='de-{version}'] .badge")).to_have_text("aktiv")
    await expect(ada.locator(f"tr[data-template='de-{active['version']}'] .badge")).to_have_text("abgelöst")
    await expect(ada.get_by_role("button", name="Version hochladen")).to_be_visible()

    # an unknown version is the console's 404 page; procurement has no access
    missing = await ada.goto(CONSOLE + "/admin/contract-templates/de/99999/preview.pdf")
    assert missing is not None
    assert missing.status == 404
    paul = await (await new_context(browser)).new_page()
    await sign_in(paul, "paul", "/vendors")
    assert await paul.locator("nav a[href='/admin/contract-templates']").count() == 0
    refused = await paul.goto(CONSOLE + "/admin/contract-templates")
    assert refused is not None
    assert refused.status == 403


async def test_procurement_sends_a_new_webhook_secret_to_a_vendor(
    console_platform: dict[str, Any], browser: Browser
) -> None:
    client = console_platform["client"]
    cast = Cast.new()
    vendor = await client.create_vendor(cast)  # its first secret, retrieved by the vendor
    contact = vendor.emails[0]

    paul = await (await new_context(browser, bypass_csp=True)).new_page()
    await sign_in(paul, "paul", "/vendors")
    await paul.locator("tr[data-vendor]", has_text=vendor.legal_name).get_by_role("link").first.click()
    credentials = paul.locator("section.credentials")
    await expect(credentials).to_have_attribute("data-active-secrets", "1")
    secret_form = paul.locator("form[action$='/secrets']")
    form_key = await secret_form.locator("input[name=idempotency_key]").input_value()
    csrf = await secret_form.locator("input[name=csrf_token]").input_value()
    async with paul.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/secrets")) as posted:
        await paul.get_by_role("button", name="Send a new webhook secret to the vendor").click()
    answer = await posted.value
    assert answer.status == 303  # post-redirect-get: the page below is a GET of the vendor's page
    assert answer.headers["location"] == f"/vendors/{vendor.id}/edit"
    sent = paul.locator("[data-secret-sent]")
    await expect(sent).to_have_attribute("data-secret-sent", contact, timeout=30_000)
    await expect(sent).to_contain_text(f"A one-time retrieval link was sent to {contact}, valid until")
    await expect(credentials).to_have_attribute("data-active-secrets", "2")  # the old one overlaps
    assert paul.url == f"{CONSOLE}/vendors/{vendor.id}/edit"

    reloaded = await paul.reload()  # sends nothing again; the notice was shown once
    assert reloaded is not None
    assert reloaded.request.method == "GET"
    await expect(credentials).to_have_attribute("data-active-secrets", "2")
    await expect(sent).to_have_count(0)
    assert await secret_form.locator("input[name=idempotency_key]").input_value() != form_key  # one per form
    # The first form sent again (a double click, a resubmission): the first answer replayed, no rotation.
    resent = await paul.request.post(
        f"{CONSOLE}/vendors/{vendor.id}/secrets",
        form={"csrf_token": csrf, "idempotency_key": form_key},
        max_redirects=0,
    )
    assert resent.status == 303, await resent.text()
    notifications = console_platform["urls"]["notifications"]
    stored = await client.call("GET", f"{notifications}/vendors/{vendor.id}", cast.procurement)
    assert stored.json()["active_secrets"] == 2  # one rotation by the console, none by the reload or resubmission
    await paul.select_option("#locale-switch", "de")
    await expect(
        paul.get_by_role("button", name="Dem Lieferanten einen neuen Webhook-Schlüssel senden")
    ).to_be_visible()
    await paul.select_option("#locale-switch", "en")
    await expect(paul.get_by_role("button", name="Send a new webhook secret to the vendor")).to_be_visible()
    assert "whsec_" not in await paul.content()
    assert await serious_violations(paul) == []
    await shot(paul, "vendor_secret")

    async def second_retrieval_mail() -> bool | None:
        retrievals = [m for m in await client.mail_to(contact, announcements=True) if m["subject"] in SECRET_RETRIEVALS]
        return True if len(retrievals) >= 2 else None

    await client.eventually("the second retrieval mail", second_retrieval_mail)
