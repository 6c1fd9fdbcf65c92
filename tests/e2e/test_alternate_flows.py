"""Corrections, rejections, declines, cancellations, absences and deadlines across the four services."""

from __future__ import annotations

import asyncio

from vendor_system_kit import VendorSystem

from backoffice_cli.client import Cast, Platform

SMALL = {"quantity": 1, "unit_price": "500.00"}  # 1,249.50 EUR: the manager alone approves


def tiny_draft(client: Platform, vendor, cast: Cast) -> dict:  # type: ignore[no-untyped-def]
    body = client.draft(vendor, cast)
    body["lines"] = [{"description": "USB cable", "quantity": "2", "unit": "pcs", "unit_price": "9.90"}]
    return body


async def approved_and_sent(client: Platform, cast: Cast, vendor, **size: object) -> str:  # type: ignore[no-untyped-def]
    draft = await client.create_draft(cast, client.draft(vendor, cast, **size))  # type: ignore[arg-type]
    await client.submit(cast, draft["id"])
    task = await client.task_for(cast.manager, draft["id"])
    await client.decide(cast.manager, task["id"], "approved")
    await client.wait_status(cast.requester, draft["id"], "vendor_notified")
    return str(draft["id"])


async def test_changes_requested_then_revised_and_resubmitted_gets_approved_and_the_timeline_shows_both_revisions(
    client: Platform, cast: Cast
) -> None:
    vendor = await client.create_vendor(cast)
    draft = await client.create_draft(cast, client.draft(vendor, cast, **SMALL))  # type: ignore[arg-type]
    request_id = draft["id"]
    await client.submit(cast, request_id)
    first = await client.task_for(cast.manager, request_id)
    await client.decide(cast.manager, first["id"], "changes_requested", "Two docking stations are enough")
    await client.wait_status(cast.requester, request_id, "changes_requested")
    told = await client.eventually("the requester is told what to change", lambda: client.mail_to(cast.requester.email))
    assert any("Two docking stations are enough" in m["text"] for m in told)

    lines = client.draft(vendor, cast, **SMALL)["lines"]  # type: ignore[arg-type]
    lines[1]["quantity"] = "2"
    await client.call(
        "POST",
        f"{client.endpoints.requests}/requests/{request_id}/revise",
        cast.requester,
        json={"lines": lines, "comment": "Reduced the docks to two"},
    )
    revised = await client.wait_status(cast.requester, request_id, "submitted")
    assert revised["revision"] == 2
    second = await client.task_for(cast.manager, request_id)
    assert second["id"] != first["id"]
    await client.decide(cast.manager, second["id"], "approved")
    await client.wait_status(cast.requester, request_id, "vendor_notified")

    timeline = await client.timeline(cast.requester, request_id)
    submitted = [e for e in timeline if e["type"] == "purchase_request.submitted"]
    assert len(submitted) == 2
    assert any(e["type"] == "purchase_request.revised" for e in timeline)
    assert any(e["type"] == "purchase_request.changes_requested" for e in timeline)
    diff = await client.call(
        "GET", f"{client.endpoints.requests}/requests/{request_id}/revisions/diff?from=1&to=2", cast.requester
    )
    assert "changed" in diff.text


async def test_a_rejection_at_the_second_step_tells_the_requester_and_sends_nothing_to_the_vendor(
    client: Platform, cast: Cast, vendor_system: VendorSystem
) -> None:
    vendor = await client.create_vendor(cast, webhook_url=vendor_system.url)
    vendor_system.secret = vendor.secret
    draft = await client.create_draft(cast, client.draft(vendor, cast))
    request_id = draft["id"]
    await client.submit(cast, request_id)
    await client.decide(cast.manager, (await client.task_for(cast.manager, request_id))["id"], "approved")
    head_task = await client.task_for(cast.head, request_id)
    await client.decide(cast.head, head_task["id"], "rejected", "Over this quarter's budget")
    await client.wait_status(cast.requester, request_id, "rejected")
    told = await client.eventually("the requester is told", lambda: client.mail_to(cast.requester.email))
    assert any("Over this quarter's budget" in m["text"] for m in told)
    await asyncio.sleep(3)
    assert await client.mail_to(vendor.emails[0]) == []
    assert vendor_system.received == []
    timeline = [e["type"] for e in await client.timeline(cast.requester, request_id)]
    assert "vendor.notified" not in timeline


async def test_a_declined_order_can_go_to_another_vendor_who_accepts(client: Platform, cast: Cast) -> None:
    first_vendor = await client.create_vendor(cast)
    second_vendor = await client.create_vendor(cast, language="de")
    request_id = await approved_and_sent(client, cast, first_vendor, **SMALL)
    await client.vendor_says(first_vendor, {"action": "decline", "request_id": request_id, "reason": "Out of stock"})
    await client.wait_status(cast.requester, request_id, "vendor_declined")

    async def second_vendor_known() -> bool:
        r = await client.call(
            "POST",
            f"{client.endpoints.requests}/requests/{request_id}/reassign-vendor",
            cast.requester,
            json={"vendor_id": second_vendor.id, "reason": "Second supplier"},
            expect=(200, 422),
        )
        return r.status_code == 200

    await client.eventually("the order is reassigned to the second vendor", second_vendor_known)
    await client.wait_status(cast.requester, request_id, "vendor_notified")
    german = await client.eventually("the second vendor's order email", lambda: client.mail_to(second_vendor.emails[0]))
    assert german
    refused = await client.vendor_says(first_vendor, {"action": "accept", "request_id": request_id}, expect=409)
    assert refused.status_code == 409
    await client.vendor_says(second_vendor, {"action": "accept", "request_id": request_id})
    await client.wait_status(cast.requester, request_id, "contract_pending")
    contract = await client.contract_for(cast.procurement, request_id)
    assert contract["vendor_id"] == second_vendor.id
    assert contract["language"] == "de"


async def test_cancelling_a_request_with_open_tasks_withdraws_them(client: Platform, cast: Cast) -> None:
    vendor = await client.create_vendor(cast)
    draft = await client.create_draft(cast, client.draft(vendor, cast, **SMALL))  # type: ignore[arg-type]
    await client.submit(cast, draft["id"])
    task = await client.task_for(cast.manager, draft["id"])
    await client.call(
        "POST",
        f"{client.endpoints.requests}/requests/{draft['id']}/cancel",
        cast.requester,
        json={"reason": "Bought second-hand instead"},
    )
    await client.wait_status(cast.requester, draft["id"], "cancelled")

    async def withdrawn() -> bool:
        chains = await client.chain(cast.admin, draft["id"])
        return all(t["status"] == "withdrawn" for c in chains for t in c["tasks"] if t["id"] == task["id"])

    await client.eventually("the open task is withdrawn", withdrawn)
    late = await client.decide(cast.manager, task["id"], "approved", expect=409)
    assert late.status_code == 409


async def test_cancelling_after_the_vendor_accepted_voids_the_contract_and_tells_the_vendor(
    client: Platform, cast: Cast, vendor_system: VendorSystem
) -> None:
    vendor = await client.create_vendor(cast, webhook_url=vendor_system.url)
    vendor_system.secret = vendor.secret
    request_id = await approved_and_sent(client, cast, vendor, **SMALL)
    await client.vendor_says(vendor, {"action": "accept", "request_id": request_id})
    await client.wait_status(cast.requester, request_id, "contract_pending")
    contract = await client.contract_for(cast.procurement, request_id)
    mails_before = len(await client.mail_to(vendor.emails[0]))
    webhooks_before = len(vendor_system.received)

    await client.call(
        "POST",
        f"{client.endpoints.requests}/requests/{request_id}/cancel",
        cast.procurement,
        json={"reason": "Project stopped"},
    )
    await client.wait_status(cast.requester, request_id, "cancelled")
    voided = await client.contract_for(cast.procurement, request_id, status="voided")
    assert voided["id"] == contract["id"]

    async def vendor_told() -> bool:
        return (
            len(await client.mail_to(vendor.emails[0])) > mails_before and len(vendor_system.received) > webhooks_before
        )

    await client.eventually("the vendor is told by email and webhook", vendor_told)
    refused = await client.call(
        "POST",
        f"{client.endpoints.contracts}/contracts/{contract['id']}/signatures",
        cast.procurement,
        json={"document_sha256": contract["document_sha256"]},
        expect=409,
    )
    assert refused.status_code == 409


async def test_an_absent_approvers_delegate_decides_on_their_behalf(client: Platform, cast: Cast) -> None:
    await client.away(cast.manager, cast.deputy)
    vendor = await client.create_vendor(cast)
    draft = await client.create_draft(cast, client.draft(vendor, cast, **SMALL))  # type: ignore[arg-type]
    await client.submit(cast, draft["id"])
    task = await client.task_for(cast.deputy, draft["id"])
    assert task["on_behalf_of"]["id"] == cast.manager.id
    await client.decide(cast.deputy, task["id"], "approved")
    await client.wait_status(cast.requester, draft["id"], "vendor_notified", "approved")
    decided = await client.call("GET", f"{client.endpoints.approvals}/tasks/{task['id']}", cast.admin)
    assert decided.json()["decided_by"]["id"] == cast.deputy.id


async def test_a_task_nobody_decides_is_escalated_to_the_managers_manager_on_its_deadline(
    client: Platform, cast: Cast
) -> None:
    vendor = await client.create_vendor(cast)
    draft = await client.create_draft(cast, tiny_draft(client, vendor, cast))
    await client.submit(cast, draft["id"])
    await client.task_for(cast.manager, draft["id"])
    escalated = await client.task_for(cast.head, draft["id"], timeout=30)
    await client.decide(cast.head, escalated["id"], "approved")
    await client.wait_status(cast.requester, draft["id"], "vendor_notified", "approved")
    timeline = [e["type"] for e in await client.timeline(cast.requester, draft["id"])]
    assert "approval.escalated" in timeline


async def test_vendor_webhooks_with_a_bad_signature_a_replay_or_from_the_wrong_vendor_are_refused_and_move_nothing(
    client: Platform, cast: Cast
) -> None:
    vendor = await client.create_vendor(cast)
    intruder = await client.create_vendor(cast)
    request_id = await approved_and_sent(client, cast, vendor, **SMALL)

    forged = type(vendor)(vendor.id, intruder.secret, vendor.legal_name, vendor.emails)
    bad = await client.vendor_says(forged, {"action": "accept", "request_id": request_id}, expect=401)
    assert bad.headers["content-type"] == "application/problem+json"
    wrong = await client.vendor_says(intruder, {"action": "accept", "request_id": request_id}, expect=409)
    assert wrong.status_code == 409
    assert (await client.request(cast.requester, request_id))["status"] == "vendor_notified"

    await client.vendor_says(vendor, {"action": "accept", "request_id": request_id}, msg_id="msg_once")
    replay = await client.vendor_says(
        vendor, {"action": "accept", "request_id": request_id}, msg_id="msg_once", expect=409
    )
    assert "replayed" in replay.text or "already" in replay.text
    await client.wait_status(cast.requester, request_id, "contract_pending")
    await asyncio.sleep(2)
    contracts = await client.call(
        "GET", f"{client.endpoints.contracts}/contracts", cast.procurement, params={"request_id": request_id}
    )
    assert len(contracts.json()) == 1


async def test_german_people_are_emailed_in_german_and_read_the_timeline_in_german(
    client: Platform, cast: Cast
) -> None:
    """The directory's language travels from approvals on the events to notifications' emails; the
    timeline's notes follow the reader's Accept-Language."""
    for who, manager in ((cast.manager, cast.head), (cast.requester, cast.manager)):
        body = {"name": who.name, "email": who.email, "manager_id": manager.id, "department": cast.department}
        await client.call(
            "PUT",
            f"{client.endpoints.approvals}/directory/approvers/{who.id}",
            cast.admin,
            json={**body, "language": "de"},
        )
    vendor = await client.create_vendor(cast)
    draft = await client.create_draft(cast, client.draft(vendor, cast, **SMALL))  # type: ignore[arg-type]
    request_id = draft["id"]
    await client.submit(cast, request_id)
    task = await client.task_for(cast.manager, request_id)
    asked = await client.eventually("the manager is asked", lambda: client.mail_to(cast.manager.email))
    assert asked[0]["subject"].startswith("Freigabe erbeten: ")
    await client.decide(cast.manager, task["id"], "rejected", "Bitte ein günstigeres Modell")
    await client.wait_status(cast.requester, request_id, "rejected")
    told = await client.eventually("the requester is told", lambda: client.mail_to(cast.requester.email))
    assert told[0]["subject"].startswith("Abgelehnt: ")
    assert "Kommentar: Bitte ein günstigeres Modell" in told[0]["text"]
    url = f"{client.endpoints.requests}/requests/{request_id}/timeline"
    german = await client.call("GET", url, cast.requester, headers={"Accept-Language": "de"})
    assert german.headers["content-language"] == "de"
    notes = {e["note_code"]: e["note"] for e in german.json()}
    assert notes["submitted"] == "Zur Freigabe eingereicht"
    assert notes["task_assigned"].startswith(f"Wartet auf die Freigabe von {cast.manager.name}")
    english = {e["note_code"]: e["note"] for e in await client.timeline(cast.requester, request_id)}
    assert english["submitted"] == "Submitted for approval"
