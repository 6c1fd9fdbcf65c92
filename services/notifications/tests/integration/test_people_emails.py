from __future__ import annotations

import uuid

from notifications_testkit import staff, unique_email, wait_for_mail

from backoffice_common.events import new_event
from backoffice_common.testing import TopicReader, publish_events


def person(tag: str) -> dict[str, str]:
    return {"id": tag, "name": tag.title(), "email": unique_email(tag)}


async def test_approvers_are_emailed_on_assignment_reminder_and_escalation_with_a_link_to_the_task(service) -> None:  # type: ignore[no-untyped-def]
    request_id, task_id, new_task_id = (str(uuid.uuid4()) for _ in range(3))
    bob, carol = person("bob"), person("carol")
    system = {"id": "system", "name": "approvals", "role": "system"}
    events = [
        new_event(
            type="approval.task_assigned",
            service="approvals",
            subject=request_id,
            data={
                "schema_version": 1,
                "task_id": task_id,
                "request_id": request_id,
                "revision": 1,
                "chain_id": "c",
                "step": 1,
                "assignee": bob,
                "on_behalf_of": None,
                "due_at": "2026-12-01T12:00:00Z",
                "request_title": "Laptops",
                "request_number": "PR-000777",
                "actor": system,
            },
        ),
        new_event(
            type="approval.reminder_due",
            service="approvals",
            subject=request_id,
            data={
                "schema_version": 1,
                "task_id": task_id,
                "request_id": request_id,
                "assignee": bob,
                "due_at": "2026-12-01T12:00:00Z",
                "actor": system,
            },
        ),
        new_event(
            type="approval.escalated",
            service="approvals",
            subject=request_id,
            data={
                "schema_version": 1,
                "task_id": task_id,
                "new_task_id": new_task_id,
                "request_id": request_id,
                "from": bob,
                "to": carol,
                "reason": "overdue",
                "actor": system,
            },
        ),
    ]
    await publish_events(service.bootstrap, service.prefix + "backoffice.approvals", events)
    bob_mails = await wait_for_mail(bob["email"], count=2)
    assert bob_mails[0]["subject"] == "Approval needed: PR-000777 Laptops"
    assert f"/approvals/tasks/{task_id}" in bob_mails[0]["text"]
    assert bob_mails[1]["subject"].startswith("Reminder")
    carol_mails = await wait_for_mail(carol["email"])
    assert f"/approvals/tasks/{new_task_id}" in carol_mails[0]["text"]
    assert "overdue" in carol_mails[0]["text"]


async def test_requesters_hear_about_rejection_and_changes_requested_with_the_comment(service) -> None:  # type: ignore[no-untyped-def]
    request_id = str(uuid.uuid4())
    alice, dave = person("alice"), person("dave")
    common = {
        "schema_version": 1,
        "request_id": request_id,
        "revision": 1,
        "decided_by": dave,
        "requester": alice,
        "actor": {"id": "dave", "name": "Dave", "role": "approver"},
    }
    await publish_events(
        service.bootstrap,
        service.prefix + "backoffice.approvals",
        [
            new_event(
                type="purchase_request.changes_requested",
                service="approvals",
                subject=request_id,
                data=common | {"comment": "Split the order per cost center"},
            ),
            new_event(
                type="purchase_request.rejected",
                service="approvals",
                subject=request_id,
                data=common | {"comment": "No budget"},
            ),
        ],
    )
    mails = await wait_for_mail(alice["email"], count=2)
    by_subject = {m["subject"].split(":")[0]: m for m in mails}
    assert "Split the order per cost center" in by_subject["Changes requested"]["text"]
    assert "No budget" in by_subject["Rejected"]["text"]


async def test_an_event_that_breaks_the_contract_goes_to_the_dead_letter_topic_and_the_next_one_is_handled(
    service,
) -> None:  # type: ignore[no-untyped-def]
    request_id = str(uuid.uuid4())
    broken = new_event(
        type="approval.task_assigned",
        service="approvals",
        subject=request_id,
        data={"schema_version": 1, "request_id": request_id},
    )
    bob = person("bob")
    fine = new_event(
        type="approval.reminder_due",
        service="approvals",
        subject=request_id,
        data={"schema_version": 1, "task_id": "t", "request_id": request_id, "assignee": bob, "due_at": None},
    )
    async with TopicReader(service.bootstrap, service.prefix + "backoffice.approvals.dlq") as dlq:
        await publish_events(service.bootstrap, service.prefix + "backoffice.approvals", [broken, fine])
        await wait_for_mail(bob["email"])
        dead = await dlq.wait_for("approval.task_assigned", subject=request_id)
        assert dead[0].id == broken.id


async def test_each_person_is_emailed_in_the_language_the_directory_gives_them(service) -> None:  # type: ignore[no-untyped-def]
    request_id, task_id = str(uuid.uuid4()), str(uuid.uuid4())
    gerd, emma = {**person("gerd"), "language": "de"}, {**person("emma"), "language": "en"}
    system = {"id": "system", "name": "approvals", "role": "system"}

    def assigned(who: dict[str, str]) -> object:
        data = {
            "schema_version": 1,
            "task_id": task_id if who is gerd else str(uuid.uuid4()),
            "request_id": request_id,
            "revision": 1,
            "chain_id": "c",
            "step": "manager",
            "assignee": who,
            "on_behalf_of": None,
            "due_at": "2026-11-30T19:11:50.298986+00:00",
            "request_title": "Laptops",
            "request_number": "PR-000778",
            "actor": system,
        }
        return new_event(type="approval.task_assigned", service="approvals", subject=request_id, data=data)

    await publish_events(service.bootstrap, service.prefix + "backoffice.approvals", [assigned(gerd), assigned(emma)])
    [german] = await wait_for_mail(gerd["email"])
    assert german["subject"] == "Freigabe erbeten: PR-000778 Laptops"
    assert "bis 30. November 2026, 19:11 UTC" in german["text"]
    [english] = await wait_for_mail(emma["email"])
    assert english["subject"] == "Approval needed: PR-000778 Laptops"
    assert "by 30 November 2026, 19:11 UTC" in english["text"]
    r = await service.client.get("/deliveries", params={"request_id": request_id}, headers=staff())
    assert sorted((d["recipient"], d["language"]) for d in r.json()) == sorted(
        [(gerd["email"], "de"), (emma["email"], "en")]
    )
