"""Checklist emails: ready and overdue items to their assignee in the checklist's language, an open access
escalated to the security group's mailbox, and a redelivered event sends nothing twice."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from notifications_testkit import mailbox, unique_email, wait_for_mail

from backoffice_common.events import CloudEvent, new_event
from backoffice_common.testing import eventually, publish_events


def checklist_event(
    type: str, *, language: str, employee: dict[str, str], manager: dict[str, Any], item: dict[str, Any], **extra: Any
) -> CloudEvent:
    checklist_id = str(uuid.uuid4())
    data = {
        "schema_version": 1,
        "checklist_id": checklist_id,
        "kind": "offboarding",
        "language": language,
        "employee": employee,
        "manager": manager,
        "template": {"key": f"offboarding-{language}", "version": 1},
        "item": item,
        **extra,
    }
    return new_event(type=type, service="checklists", subject=checklist_id, data=data)


def item(key: str, title: str, *, user: str | None = None, group: str | None = None) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "assignee_group": group,
        "assignee_user": user,
        "due_on": "2026-12-18",
        "evidence": "confirmation",
        "access_revocation": group == "it",
    }


async def test_assignees_are_emailed_in_the_checklists_language_and_security_hears_of_an_open_access(service) -> None:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:8]
    employee = {"id": f"emp-{tag}", "name": f"Erika {tag}", "email": unique_email("erika")}
    manager = {"id": f"mgr-{tag}", "email": unique_email("mgr")}
    handover = checklist_event(
        "checklist.item_ready",
        language="de",
        employee=employee,
        manager=manager,
        item=item("handover", "Übergabe planen", user=manager["id"]),
    )
    own = checklist_event(
        "checklist.item_ready",
        language="en",
        employee=employee,
        manager=manager,
        item=item("return", "Return the badge", user=employee["id"]),
    )
    access = checklist_event(
        "checklist.item_overdue",
        language="en",
        employee=employee,
        manager=manager,
        item=item("revoke", f"Revoke accounts {tag}", group="it"),
        escalated_to="security",
        red_flag=True,
    )
    topic = service.prefix + "backoffice.checklists"
    await publish_events(service.bootstrap, topic, [handover, own, access, handover, access])

    manager_mails = await wait_for_mail(manager["email"])
    assert manager_mails[0]["subject"] == f"Aufgabe für {employee['name']}: Übergabe planen"
    assert f"/checklists/{handover.subject}" in manager_mails[0]["text"]
    assert "fällig am" in manager_mails[0]["text"]
    employee_mails = await wait_for_mail(employee["email"])
    assert employee_mails[0]["subject"] == f"To do for {employee['name']}: Return the badge"

    async def escalations() -> list[dict[str, Any]] | None:
        found = [m for m in await mailbox("security@backoffice.example") if tag in m["subject"]]
        return found or None

    security = await eventually(escalations, timeout=60, interval=0.3, message="no escalation to security")
    assert security[0]["subject"] == f"Escalated to security: Revoke accounts {tag} ({employee['name']})"
    assert "still open" in security[0]["text"]
    it_mails = [m for m in await mailbox("it@backoffice.example") if tag in m["subject"]]
    assert [m["subject"].split(":")[0] for m in it_mails] == ["Overdue"]

    await asyncio.sleep(2)  # the repeats were in the same batch; give any duplicate time to arrive
    assert len(await mailbox(manager["email"])) == 1
    assert len([m for m in await mailbox("security@backoffice.example") if tag in m["subject"]]) == 1


async def test_an_item_for_someone_without_an_address_sends_nothing_and_the_consumer_moves_on(service) -> None:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:8]
    employee = {"id": f"emp-{tag}", "name": f"Max {tag}", "email": unique_email("max")}
    nobody = checklist_event(
        "checklist.item_ready",
        language="en",
        employee=employee,
        manager={"id": None, "email": ""},
        item=item("x", "Unknown group's item", group=f"group-{tag}"),
    )
    after = checklist_event(
        "checklist.item_ready",
        language="en",
        employee=employee,
        manager={"id": None, "email": ""},
        item=item("y", "Sign the contract", user=employee["id"]),
    )
    await publish_events(service.bootstrap, service.prefix + "backoffice.checklists", [nobody, after])
    mails = await wait_for_mail(employee["email"])
    assert [m["subject"] for m in mails] == [f"To do for {employee['name']}: Sign the contract"]


async def test_the_assignee_is_reminded_on_the_due_day_in_german(service) -> None:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:8]
    employee = {"id": f"emp-{tag}", "name": f"Jonas {tag}", "email": unique_email("jonas")}
    reminder = checklist_event(
        "checklist.item_reminder_due",
        language="de",
        employee=employee,
        manager={"id": None, "email": ""},
        item=item("badge", "Ausweis abgeben", user=employee["id"]),
        reminded_at="2026-12-17T23:00:00+00:00",
    )
    await publish_events(service.bootstrap, service.prefix + "backoffice.checklists", [reminder, reminder])
    [mail] = await wait_for_mail(employee["email"])
    assert mail["subject"] == f"Heute fällig: Ausweis abgeben ({employee['name']})"
    assert "heute, am" in mail["text"]
    await asyncio.sleep(1)
    assert len(await mailbox(employee["email"])) == 1
