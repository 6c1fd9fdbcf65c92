"""Onboarding and offboarding across the services: an HR event on backoffice.hr starts the checklist,
notifications emails the assignees, requests drafts the laptop for the manager, the real order's
receipt completes the item; a repeated HR event changes nothing; an access left open after the
last day is escalated to security by email."""

from __future__ import annotations

import os
import uuid
from datetime import date, timedelta
from typing import Any

from platform_kit import Platform as PlatformProcesses

from backoffice_cli.client import Cast, Person, Platform
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.testing import publish_events

SECURITY = "security@backoffice.example"
HR_GROUP = "hr@backoffice.example"
"""NOTIFICATIONS_CHECKLIST_GROUP_EMAILS' defaults: the platform of these tests does not set it."""

LAPTOP_TEMPLATE = {
    "kind": "onboarding",
    "language": "en",
    "title": "Onboarding with a laptop",
    "items": [
        {
            "key": "contract_filed",
            "title": "File the signed employment contract",
            "responsible": "hr",
            "due": {"anchor": "start_date", "offset_days": -14},
            "evidence": "document_reference",
        },
        {
            "key": "laptop_order",
            "title": "Order the laptop",
            "responsible": "manager",
            "due": {"anchor": "start_date", "offset_days": -10},
            "evidence": "purchase_received",
            "depends_on": ["contract_filed"],
            "purchase": {
                "description": 'Laptop 14"',
                "quantity": "1",
                "unit_price": "1450.00",
                "currency": "EUR",
                "category": "hardware",
                "cost_center": "CC-100",
            },
        },
    ],
}


async def hr_says(platform: PlatformProcesses, type: str, employee_id: str, **data: Any) -> CloudEvent:
    event = new_event(type=type, service="hr", subject=employee_id, data={"schema_version": 1, **data})
    await publish_events(os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"], platform.prefix + "backoffice.hr", [event])
    return event


def tagged(mails: list[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    """The checklist mails about ``tag`` (the order's own mails name the employee in its title too)."""
    kinds = ("To do for", "Overdue:", "Escalated to")
    return [m for m in mails if tag in str(m["subject"]) and str(m["subject"]).startswith(kinds)]


async def test_a_hire_makes_the_checklist_the_emails_and_the_laptop_order_whose_receipt_completes_it(
    client: Platform, cast: Cast, platform: PlatformProcesses
) -> None:
    checklists = platform.url("checklists")
    tag = uuid.uuid4().hex[:6]
    hr = Person(f"hr-{tag}", f"Hanna HR ({tag})", f"hr-{tag}@example.com", ("hr",), cast.department)
    # The standard English onboarding gets a version with the laptop purchase (the HR event names no template).
    await client.call("PUT", f"{checklists}/templates/onboarding-en", hr, json=LAPTOP_TEMPLATE, expect=201)
    manager = cast.requester  # Rita manages the new hire; her own manager approves her orders
    eid = f"emp-{tag}"
    employee = {
        "id": eid,
        "name": f"Nina New ({tag})",
        "email": f"nina-{tag}@example.com",
        "language": "en",
        "department": cast.department,
        "manager_id": manager.id,
        "manager_email": manager.email,
        "start_date": (date.today() + timedelta(days=30)).isoformat(),
    }
    hired = await hr_says(platform, "employee.hired", eid, employee=employee)

    async def onboarding() -> dict[str, Any] | None:
        r = await client.call("GET", f"{checklists}/employees/{eid}/checklists", hr)
        return r.json()[0] if r.json() else None

    checklist = await client.eventually("the onboarding", onboarding)
    cid = checklist["id"]
    assert checklist["template"]["key"] == "onboarding-en"
    hr_mails = await client.eventually("HR is emailed its item", lambda: _tagged_mail(client, HR_GROUP, tag))
    assert hr_mails[0]["subject"] == f"To do for {employee['name']}: File the signed employment contract"
    assert f"/checklists/{cid}" in hr_mails[0]["text"]

    await client.call(
        "POST",
        f"{checklists}/checklists/{cid}/items/contract_filed/complete",
        hr,
        json={"evidence": {"document_reference": f"DMS-{tag}"}},
    )
    manager_mails = await client.eventually(
        "the manager is emailed the laptop item", lambda: _tagged_mail(client, manager.email, employee["name"])
    )
    assert manager_mails[0]["subject"] == f"To do for {employee['name']}: Order the laptop"

    async def laptop_request_id() -> str | None:
        r = await client.call("GET", f"{checklists}/checklists/{cid}", hr)
        item = next(i for i in r.json()["items"] if i["key"] == "laptop_order")
        return item["purchase_request_id"]

    request_id = await client.eventually("the purchase item names its request", laptop_request_id)

    async def drafted() -> dict[str, Any] | None:
        r = await client.call("GET", f"{client.endpoints.requests}/requests/{request_id}", manager, expect=(200, 404))
        return r.json() if r.status_code == 200 else None

    draft = await client.eventually("the manager's draft", drafted)
    assert (draft["status"], draft["requester"]["id"], draft["total"]) == ("draft", manager.id, "1450.00")
    assert draft["vendor_id"] == ""

    # The repeated HR event and a second one with a new id change nothing.
    await publish_events(os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"], platform.prefix + "backoffice.hr", [hired])
    await hr_says(platform, "employee.hired", eid, employee=employee)

    # The manager picks the vendor and the order goes its whole way to the receipt.
    vendor = await client.create_vendor(cast)

    async def vendor_set() -> dict[str, Any] | None:
        current = await client.request(manager, request_id)
        r = await client.call(
            "PATCH",
            f"{client.endpoints.requests}/requests/{request_id}",
            manager,
            json={"vendor_id": vendor.id},
            headers={"If-Match": f'"{current["version"]}"'},
            expect=(200, 422),
        )
        return r.json() if r.status_code == 200 else None

    await client.eventually("the requests service knows the vendor", vendor_set)
    await client.submit(cast, request_id)
    task = await client.task_for(cast.manager, request_id)
    await client.decide(cast.manager, task["id"], "approved")
    await client.wait_status(manager, request_id, "vendor_notified")
    await client.vendor_says(vendor, {"action": "accept", "request_id": request_id})
    await client.wait_status(manager, request_id, "contract_pending")
    contract = await client.contract_for(cast.procurement, request_id)

    async def vendor_signs() -> bool | None:
        r = await client.vendor_says(
            vendor,
            {
                "action": "sign_contract",
                "contract_id": contract["id"],
                "document_sha256": contract["document_sha256"],
                "signer_name": "Vera Vendor",
            },
            expect=(200, 404),
        )
        return True if r.status_code == 200 else None

    await client.eventually("the vendor signs", vendor_signs)

    async def vendor_signed() -> bool | None:
        # The webhook's answer reaches contracts as an event: the buyer signs after it was recorded.
        current = await client.contract_for(cast.procurement, request_id)
        return True if any(s["party"] == "vendor" for s in current["signatures"]) else None

    await client.eventually("the contracts service records the vendor's signature", vendor_signed)
    await client.buyer_signs(cast, contract)
    await client.wait_status(manager, request_id, "contract_executed")
    await client.receive_everything(cast, request_id)

    async def completed() -> dict[str, Any] | None:
        r = await client.call("GET", f"{checklists}/checklists/{cid}", hr)
        return r.json() if r.json()["status"] == "completed" else None

    done = await client.eventually("the receipt completes the laptop item", completed)
    laptop = next(i for i in done["items"] if i["key"] == "laptop_order")
    assert (laptop["done_by"], laptop["evidence"]) == ("requests", {"purchase_request_id": request_id})
    all_of_them = (await client.call("GET", f"{checklists}/employees/{eid}/checklists", hr)).json()
    assert [c["id"] for c in all_of_them] == [cid]
    assert len(await _tagged_mail(client, manager.email, employee["name"]) or []) == 1
    assert len(await _tagged_mail(client, HR_GROUP, tag) or []) == 1


async def test_an_access_left_open_after_the_last_day_is_escalated_to_security_by_email(
    client: Platform, platform: PlatformProcesses
) -> None:
    tag = uuid.uuid4().hex[:6]
    eid = f"leaver-{tag}"
    employee = {
        "id": eid,
        "name": f"Lars Leaver ({tag})",
        "email": f"lars-{tag}@example.com",
        "language": "en",
        "start_date": "2020-01-01",
    }
    last_day = (date.today() - timedelta(days=2)).isoformat()
    await hr_says(platform, "employee.leaving", eid, employee=employee, last_day=last_day)
    wanted = f"Escalated to security: Disable accounts and access (second sign-off) ({employee['name']})"

    async def escalated() -> list[dict[str, Any]] | None:
        mails = await _tagged_mail(client, SECURITY, tag) or []
        found = [m for m in mails if str(m["subject"]).startswith("Escalated to security")]
        return found if wanted in {m["subject"] for m in found} else None

    escalations = await client.eventually("security is emailed the open access", escalated, timeout=120)
    assert all("still open" in m["text"] for m in escalations)


async def _tagged_mail(client: Platform, address: str, tag: str) -> list[dict[str, Any]] | None:
    return tagged(await client.mail_to(address), tag) or None
