"""A checklist's ``checklist.purchase_requested`` becomes one draft purchase request for the manager."""

from __future__ import annotations

import uuid
from typing import Any

from requests_testkit import Service, auth, unique_user
from sqlalchemy import select

from backoffice_common.events import CloudEvent
from backoffice_common.testing import TopicReader, eventually
from backoffice_requests.models import messaging


async def outcome(service: Service, event: CloudEvent) -> str:
    """What the consumer recorded for ``event`` once it handled it."""

    async def handled() -> str | None:
        async with service.app.state.session_factory() as session:
            query = select(messaging.inbox.c.outcome).where(messaging.inbox.c.event_id == event.id)
            return (await session.execute(query)).scalar_one_or_none()

    result: str = await eventually(handled, timeout=30)
    return result


def asked(request_id: str, manager: str, **overrides: Any) -> dict[str, Any]:
    return {
        "checklist_id": str(uuid.uuid4()),
        "employee": {"id": "e-1", "name": "Erika Muster", "email": "erika@example.com"},
        "item": {"key": "laptop_order", "title": "Order the laptop"},
        "request_id": request_id,
        "manager": {"id": manager, "email": f"{manager}@example.com"},
        "title": "Order the laptop: Erika Muster",
        "lines": [{"description": "Laptop 14 inch", "quantity": "1", "unit": "pcs", "unit_price": "1450.50"}],
        "amount": "1450.50",
        "currency": "EUR",
        "cost_center": "CC-100",
        "department": "ENG",
        "category": "it_hardware",
        "needed_by": "2020-01-01",
        **overrides,
    }


async def test_the_manager_gets_one_draft_for_the_equipment_whatever_the_repeats(service: Service) -> None:
    manager = unique_user("mona")
    rid = str(uuid.uuid4())
    await service.emit("backoffice.checklists", "checklist.purchase_requested", rid, **asked(rid, manager))
    repeat = await service.emit("backoffice.checklists", "checklist.purchase_requested", rid, **asked(rid, manager))

    async def drafted() -> dict[str, Any] | None:
        r = await service.client.get(f"/requests/{rid}", headers=auth(manager))
        return r.json() if r.status_code == 200 else None

    draft = await eventually(drafted, timeout=30, message="no draft for the manager")
    assert draft["status"] == "draft"
    assert draft["requester"]["id"] == manager
    assert (draft["title"], draft["currency"], draft["cost_center"], draft["total"]) == (
        "Order the laptop: Erika Muster",
        "EUR",
        "CC-100",
        "1450.50",
    )
    assert draft["vendor_id"] == ""
    assert draft["needed_by"] >= "2026-01-01"  # a due day already past is today, the draft stays valid
    assert await outcome(service, repeat) == f"exists: {rid}"
    timeline = await service.timeline(rid, manager)
    assert [e["type"] for e in timeline] == ["purchase_request.drafted"]
    assert timeline[0]["actor"]["name"] == "checklists"


async def test_equipment_that_cannot_be_drafted_is_dead_lettered(service: Service) -> None:
    rid = str(uuid.uuid4())
    dlq = f"{service.prefix}backoffice.checklists.dlq"
    async with TopicReader(service.bootstrap, dlq, partitions=3) as dead:
        bad = await service.emit(
            "backoffice.checklists",
            "checklist.purchase_requested",
            rid,
            **asked(rid, unique_user("mona"), currency="XXX1"),
        )
        [dead_letter] = await dead.wait_for("checklist.purchase_requested", subject=rid)
        assert dead_letter.id == bad.id
