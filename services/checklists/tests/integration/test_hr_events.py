"""HR events start and move checklists, idempotently, through the real broker."""

from __future__ import annotations

import asyncio
from typing import Any

from checklists_testkit import HR_TOPIC, Service, days_ago, employee, items_by_key, unique
from sqlalchemy import select

from backoffice_checklists.models import messaging
from backoffice_common.events import CloudEvent
from backoffice_common.testing import eventually, publish_events


async def checklists_of(service: Service, eid: str, count: int) -> list[dict[str, Any]]:
    async def arrived() -> list[dict[str, Any]] | None:
        found = await service.of_employee(eid)
        return found if len(found) >= count else None

    result: list[dict[str, Any]] = await eventually(arrived, timeout=30)
    return result


async def outcome(service: Service, event: CloudEvent) -> str:
    """What the consumer recorded for ``event`` once it handled it."""
    inbox = messaging.inbox

    async def handled() -> str | None:
        async with service.app.state.session_factory() as session:
            query = select(inbox.c.outcome).where(inbox.c.event_id == event.id)
            return (await session.execute(query)).scalar_one_or_none()

    result: str = await eventually(handled, timeout=30)
    return result


async def test_a_hire_starts_one_onboarding_and_a_repeated_event_changes_nothing(service: Service) -> None:
    eid = unique("emp")
    hired = await service.emit("employee.hired", eid, employee=employee(eid, language="de"))
    [checklist] = await checklists_of(service, eid, 1)
    assert checklist["kind"] == "onboarding"
    assert checklist["template"]["key"] == "onboarding-de"
    started = await service.events.wait_for("checklist.started", subject=checklist["id"])
    assert started[0].causationid == hired.id
    await publish_events(service.bootstrap, service.prefix + HR_TOPIC, [hired])
    again = await service.emit("employee.hired", eid, employee=employee(eid, language="de"))
    assert await outcome(service, again) == f"exists: {checklist['id']}"
    assert await outcome(service, hired) == f"started: {checklist['id']}"
    await asyncio.sleep(1)
    assert [c["id"] for c in await service.of_employee(eid)] == [checklist["id"]]
    assert len(service.events.of_type("checklist.started", subject=checklist["id"])) == 1


async def test_a_leaving_employee_gets_an_offboarding_and_a_moved_last_day_moves_the_due_dates(
    service: Service,
) -> None:
    eid = unique("emp")
    await service.emit("employee.leaving", eid, employee=employee(eid, start_date="2020-04-01"), last_day="2027-03-31")
    [checklist] = await checklists_of(service, eid, 1)
    items = items_by_key(checklist)
    assert checklist["kind"] == "offboarding"
    assert (items["handover"]["due_on"], items["accounts_disabled"]["due_on"]) == ("2027-03-21", "2027-03-31")
    assert items["accounts_disabled"]["access_revocation"]
    moved = await service.emit("employee.last_day_changed", eid, employee_id=eid, last_day="2027-04-15")
    assert await outcome(service, moved) == "moved 8 items"
    [checklist] = await service.of_employee(eid)
    items = items_by_key(checklist)
    assert (items["handover"]["due_on"], items["accounts_disabled"]["due_on"]) == ("2027-04-05", "2027-04-15")
    assert checklist["employee"]["last_day"] == "2027-04-15"
    nobody = await service.emit(
        "employee.last_day_changed", "ghost", employee_id=unique("ghost"), last_day="2027-04-15"
    )
    assert await outcome(service, nobody) == "ignored: no running offboarding"


async def test_a_payload_that_does_not_fit_is_dead_lettered_not_retried(service: Service) -> None:
    eid = unique("emp")
    bad = await service.emit("employee.hired", eid, employee={"id": eid})
    good = await service.emit("employee.hired", eid, employee=employee(eid, start_date=days_ago(-30)))
    assert (await outcome(service, good)).startswith("started: ")
    async with service.app.state.session_factory() as session:
        query = select(messaging.inbox.c.event_id).where(messaging.inbox.c.event_id == bad.id)
        assert (await session.execute(query)).scalar_one_or_none() is None


async def test_leaving_cancels_a_running_onboarding_with_a_reason(service: Service) -> None:
    eid = unique("emp")
    await service.emit("employee.hired", eid, employee=employee(eid, start_date=days_ago(-10)))
    [onboarding] = await checklists_of(service, eid, 1)
    leaving = await service.emit(
        "employee.leaving", eid, employee=employee(eid, start_date=days_ago(-10)), last_day="2027-01-31"
    )
    assert (await outcome(service, leaving)).startswith("started: ")
    by_kind = {c["kind"]: c for c in await service.of_employee(eid)}
    assert by_kind["onboarding"]["status"] == "cancelled"
    assert by_kind["offboarding"]["status"] == "running"
    [cancelled] = await service.events.wait_for("checklist.cancelled", subject=onboarding["id"])
    assert cancelled.data["reason"] == "the employee leaves (last day 2027-01-31)"
    assert cancelled.causationid == leaving.id
    again = await service.emit(
        "employee.leaving", eid, employee=employee(eid, start_date=days_ago(-10)), last_day="2027-01-31"
    )
    assert await outcome(service, again) == f"exists: {by_kind['offboarding']['id']}"
    await asyncio.sleep(1)
    assert len(service.events.of_type("checklist.cancelled", subject=onboarding["id"])) == 1
