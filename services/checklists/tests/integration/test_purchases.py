"""A purchase item asks requests for the manager's draft through an event; the order's receipt completes it."""

from __future__ import annotations

import asyncio
from typing import Any

from checklists_testkit import HR, Service, employee, items_by_key, unique

from backoffice_common.events import new_event
from backoffice_common.testing import eventually, publish_events

EQUIPMENT_TEMPLATE = {
    "kind": "onboarding",
    "language": "en",
    "title": "Onboarding with a laptop",
    "items": [
        {
            "key": "contract",
            "title": "File the contract",
            "responsible": "hr",
            "due": {"anchor": "start_date", "offset_days": -10},
        },
        {
            "key": "laptop_order",
            "title": "Order the laptop",
            "responsible": "manager",
            "due": {"anchor": "start_date", "offset_days": -5},
            "evidence": "purchase_received",
            "depends_on": ["contract"],
            "purchase": {
                "description": "Laptop 14 inch",
                "quantity": "1",
                "unit_price": "1450.50",
                "currency": "EUR",
                "category": "it_hardware",
                "cost_center": "CC-100",
            },
        },
    ],
}


async def receipt(service: Service, request_id: str, *, fully: bool) -> None:
    event = new_event(
        type="purchase_request.receipt_confirmed",
        service="requests",
        subject=request_id,
        data={"schema_version": 1, "request_id": request_id, "lines": [], "fully_received": fully, "note": ""},
    )
    await publish_events(service.bootstrap, service.prefix + "backoffice.requests", [event])


async def test_a_ready_purchase_item_asks_for_the_managers_draft_and_its_receipt_completes_it(service: Service) -> None:
    key = unique("onboarding-laptop")
    r = await service.client.put(f"/templates/{key}", json=EQUIPMENT_TEMPLATE, headers=HR)
    assert r.status_code == 201, r.text
    assert r.json()["items"][1]["purchase"]["unit_price"] == "1450.50"
    eid = unique("emp")
    person = employee(eid, manager_email="mona@example.com")
    r = await service.client.post(
        "/checklists", json={"kind": "onboarding", "employee": person, "template": key}, headers=HR
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert service.events.of_type("checklist.purchase_requested", subject=cid) == []
    assert (await service.complete(cid, "contract", HR)).status_code == 200
    [asked] = await service.events.wait_for("checklist.purchase_requested", subject=cid)
    request_id = asked.data["request_id"]
    assert asked.data["manager"] == {"id": "mona", "email": "mona@example.com"}
    assert (asked.data["amount"], asked.data["cost_center"], asked.data["category"]) == (
        "1450.50",
        "CC-100",
        "it_hardware",
    )

    await receipt(service, request_id, fully=False)
    await receipt(service, request_id, fully=True)

    async def completed() -> dict[str, Any] | None:
        r = await service.client.get(f"/checklists/{cid}", headers=HR)
        return r.json() if r.json()["status"] == "completed" else None

    checklist = await eventually(completed, timeout=30, message="the receipt never completed the item")
    laptop = items_by_key(checklist)["laptop_order"]
    assert (laptop["done_by"], laptop["evidence"]) == ("requests", {"purchase_request_id": request_id})
    assert laptop["purchase_request_id"] == request_id
    await receipt(service, request_id, fully=True)
    await asyncio.sleep(1)
    assert len(service.events.of_type("checklist.item_done", subject=cid)) == 2
    assert len(service.events.of_type("checklist.purchase_requested", subject=cid)) == 1


async def test_a_purchase_item_that_is_not_the_managers_is_refused(service: Service) -> None:
    body = {**EQUIPMENT_TEMPLATE, "items": [{**EQUIPMENT_TEMPLATE["items"][1], "responsible": "it", "depends_on": []}]}
    r = await service.client.put(f"/templates/{unique('bad')}", json=body, headers=HR)
    assert r.status_code == 422
    assert "manager" in r.json()["detail"]
    wrong = {
        **EQUIPMENT_TEMPLATE["items"][1],
        "depends_on": [],
        "purchase": {"description": "x", "quantity": "1", "unit_price": "-1", "currency": "EUR", "category": "c"},
    }
    r = await service.client.put(
        f"/templates/{unique('bad')}", json={**EQUIPMENT_TEMPLATE, "items": [wrong]}, headers=HR
    )
    assert r.status_code == 422
