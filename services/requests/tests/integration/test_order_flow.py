"""The order's whole life over HTTP and Kafka: our events out, other services' events in."""

from __future__ import annotations

import re

from requests_testkit import (
    OTHER_VENDOR,
    VENDOR,
    Service,
    assert_problem,
    auth,
    contract_executed,
    draft_body,
    person,
    unique_user,
)


async def test_a_draft_is_numbered_priced_by_the_server_and_tagged(service: Service) -> None:
    alice = unique_user("alice")
    r = await service.client.post("/requests", json=draft_body(), headers=auth(alice))
    assert r.status_code == 201, r.text
    body = r.json()
    assert re.fullmatch(r"PR-\d{6}", body["number"])
    assert body["status"] == "draft"
    assert body["total"] == "2499.99"
    assert [line["amount"] for line in body["lines"]] == ["2400.00", "99.99"]
    assert r.headers["ETag"] == f'"{body["version"]}"'
    assert r.headers["Location"] == f"/requests/{body['id']}"
    assert body["allowed_actions"] == ["cancel", "edit", "submit"]


async def test_the_whole_order_follows_the_other_services_and_publishes_its_own_events(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.submitted(alice)
    rid = request["id"]
    submitted = await service.published.wait_for("purchase_request.submitted", subject=rid)
    snapshot = submitted[0].data["request"]
    assert snapshot["number"] == request["number"]
    assert snapshot["total"] == "2499.99"
    assert snapshot["requester"]["id"] == alice
    assert snapshot["lines"][0] == {
        "line_no": 1,
        "description": "Laptop",
        "quantity": "2",
        "unit": "pcs",
        "unit_price": "1200.00",
        "amount": "2400.00",
        "sku": "LT-14",
    }
    assert submitted[0].data["actor"] == {"id": alice, "name": alice.title(), "role": "requester"}

    await service.emit(
        "backoffice.approvals",
        "approval.task_assigned",
        rid,
        task_id="t1",
        request_id=rid,
        revision=1,
        chain_id="c1",
        step=1,
        assignee=person("bob"),
        on_behalf_of=None,
        due_at="2027-01-01T00:00:00Z",
    )
    await service.approve(request)
    await service.wait_status(rid, alice, "approved")
    await service.emit(
        "backoffice.notifications",
        "vendor.notified",
        rid,
        request_id=rid,
        revision=1,
        vendor_id=VENDOR,
        channel="email",
    )
    await service.wait_status(rid, alice, "vendor_notified")
    await service.emit(
        "backoffice.notifications",
        "vendor.accepted",
        rid,
        request={"request_id": rid, "revision": 1, "vendor_id": VENDOR},
        vendor={"vendor_id": VENDOR},
        expected_delivery=None,
        note="",
    )
    await service.emit(
        "backoffice.contracts",
        "contract.generated",
        rid,
        contract_id="k1",
        request_id=rid,
        revision=1,
        vendor_id=VENDOR,
    )
    await service.emit("backoffice.contracts", "contract.executed", rid, contract_id="k1", request_id=rid)
    await service.wait_status(rid, alice, "contract_executed")

    r = await service.client.post(
        f"/requests/{rid}/receipts", json={"lines": [{"line_no": 1, "quantity": "1"}]}, headers=auth(alice)
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "partially_received"
    assert r.json()["lines"][0]["quantity_received"] == "1"
    r = await service.client.post(
        f"/requests/{rid}/receipts", json={"lines": [{"line_no": 1, "quantity": "5"}]}, headers=auth(alice)
    )
    assert_problem(r, 422)
    r = await service.client.post(
        f"/requests/{rid}/receipts",
        json={"lines": [{"line_no": 1, "quantity": "1"}, {"line_no": 2, "quantity": "1"}]},
        headers=auth(alice),
    )
    assert r.json()["status"] == "received"
    r = await service.client.post(f"/requests/{rid}/close", json={}, headers=auth(alice))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"
    assert r.json()["allowed_actions"] == []

    receipts = await service.published.wait_for("purchase_request.receipt_confirmed", subject=rid, count=2)
    assert [e.data["fully_received"] for e in receipts] == [False, True]
    closed = await service.published.wait_for("purchase_request.closed", subject=rid)
    assert closed[0].data["short_closed"] is False

    timeline = await service.timeline(rid, alice)
    assert [e["type"] for e in timeline] == [
        "purchase_request.drafted",
        "purchase_request.submitted",
        "approval.task_assigned",
        "purchase_request.approved",
        "vendor.notified",
        "vendor.accepted",
        "contract.generated",
        "contract.executed",
        "purchase_request.receipt_confirmed",
        "purchase_request.receipt_confirmed",
        "purchase_request.closed",
    ]
    assigned = timeline[2]
    assert assigned["detail"].startswith("waiting on Bob")
    assert (assigned["note_code"], assigned["note_params"]["assignee"]) == ("task_assigned", "Bob")
    assert assigned["note"].startswith("Waiting for the approval of Bob")
    assert timeline[3]["actor"]["id"] == "bob"
    assert {e["outcome"] for e in timeline} <= {"applied", "recorded"}
    assert [e["status_after"] for e in timeline][-1] == "closed"

    r = await service.client.get(
        f"/requests/{rid}/timeline", headers={**auth(alice), "Accept-Language": "de-DE,de;q=0.9,en;q=0.8"}
    )
    assert (r.headers["content-language"], r.headers["vary"]) == ("de", "Accept-Language")
    german = r.json()
    assert [e["note_code"] for e in german] == [e["note_code"] for e in timeline]
    assert german[2]["note"].startswith("Wartet auf die Freigabe von Bob")
    assert [e["note"] for e in german[-3:]] == [
        "Ware teilweise erhalten",
        "Ware vollständig erhalten",
        "Abgeschlossen",
    ]
    assert timeline[-1]["note"] == "Closed"


async def test_changes_requested_lead_to_a_new_revision_that_is_submitted_again(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.submitted(alice)
    rid = request["id"]
    await service.emit(
        "backoffice.approvals",
        "purchase_request.changes_requested",
        rid,
        request_id=rid,
        revision=1,
        comment="one laptop is enough",
        decided_by=person("bob"),
        requester=person(alice),
    )
    waiting = await service.wait_status(rid, alice, "changes_requested")
    assert waiting["allowed_actions"] == ["cancel", "revise"]
    lines = [
        {"description": "Laptop", "quantity": "1", "unit": "pcs", "unit_price": "1200.00", "sku": "LT-14"},
        {"description": "Mouse", "quantity": "1", "unit": "pcs", "unit_price": "20.00"},
    ]
    r = await service.client.post(
        f"/requests/{rid}/revise", json={"lines": lines, "comment": "as asked"}, headers=auth(alice)
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["revision"], r.json()["total"]) == ("submitted", 2, "1220.00")

    revisions = (await service.client.get(f"/requests/{rid}/revisions", headers=auth(alice))).json()
    assert [rev["revision"] for rev in revisions] == [1, 2]
    assert revisions[0]["content"]["total"] == "2499.99"
    diff = (await service.client.get(f"/requests/{rid}/revisions/diff?from=1&to=2", headers=auth(alice))).json()
    assert [(x["change"], x.get("from_line_no"), x.get("to_line_no")) for x in diff["lines"]] == [
        ("changed", 1, 1),
        ("removed", 2, None),
        ("added", None, 2),
    ]
    assert diff["lines"][0]["fields"]["quantity"] == {"from": "2", "to": "1"}
    assert {f["field"] for f in diff["fields"]} == {"total"}

    revised = await service.published.wait_for("purchase_request.revised", subject=rid)
    assert revised[0].data["previous_revision"] == 1
    assert revised[0].data["changed_fields"] == ["lines"]
    resubmitted = await service.published.wait_for("purchase_request.submitted", subject=rid, count=2)
    assert resubmitted[1].data["request"]["revision"] == 2

    # The approval of the old revision arrives late: recorded, ignored, nothing moves.
    late = await service.emit(
        "backoffice.approvals",
        "purchase_request.approved",
        rid,
        request={"request_id": rid, "revision": 1},
        chain_id="c0",
        approvers=[],
    )
    entries = await service.wait_timeline(rid, alice, "purchase_request.approved")
    assert entries[0]["event_id"] == late.id
    assert entries[0]["outcome"] == "ignored"
    assert "revision 1" in entries[0]["detail"]
    assert (await service.read(rid, alice))["status"] == "submitted"


async def test_a_declined_order_goes_to_another_vendor_as_a_new_approved_revision(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.submitted(alice)
    rid = request["id"]
    await service.approve(request)
    await service.emit(
        "backoffice.notifications",
        "vendor.notified",
        rid,
        request_id=rid,
        revision=1,
        vendor_id=VENDOR,
        channel="email",
    )
    await service.emit(
        "backoffice.notifications",
        "vendor.declined",
        rid,
        request_id=rid,
        revision=1,
        vendor_id=VENDOR,
        reason="no stock",
    )
    declined = await service.wait_status(rid, alice, "vendor_declined")
    assert declined["allowed_actions"] == ["cancel", "reassign_vendor"]

    buyer = unique_user("paula")
    r = await service.client.post(
        f"/requests/{rid}/reassign-vendor",
        json={"vendor_id": OTHER_VENDOR, "reason": "Acme has no stock"},
        headers=auth(buyer, "procurement"),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["revision"], r.json()["vendor_id"]) == ("approved", 2, OTHER_VENDOR)
    event = (await service.published.wait_for("purchase_request.vendor_reassigned", subject=rid))[0]
    assert event.data["previous_vendor_id"] == VENDOR
    assert event.data["request"]["vendor_id"] == OTHER_VENDOR
    assert event.data["request"]["revision"] == 2
    assert event.data["actor"]["role"] == "procurement"

    # The old vendor's late notice does not move the request; the new vendor's does.
    await service.emit(
        "backoffice.notifications",
        "vendor.notified",
        rid,
        request_id=rid,
        revision=1,
        vendor_id=VENDOR,
        channel="webhook",
    )
    await service.emit(
        "backoffice.notifications",
        "vendor.notified",
        rid,
        request_id=rid,
        revision=2,
        vendor_id=OTHER_VENDOR,
        channel="email",
    )
    await service.wait_status(rid, alice, "vendor_notified")
    notices = await service.wait_timeline(rid, alice, "vendor.notified", count=3)
    assert [n["outcome"] for n in notices] == ["applied", "ignored", "applied"]


async def test_events_that_do_not_fit_are_recorded_and_the_consumer_goes_on(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.submitted(alice)
    rid = request["id"]
    await service.emit("backoffice.contracts", "contract.executed", rid, contract_id="k", request_id=rid)
    await service.emit(
        "backoffice.contracts", "contract.voided", rid, contract_id="k", request_id=rid, reason="te\x00st"
    )
    await service.emit(
        "backoffice.approvals",
        "purchase_request.rejected",
        rid,
        request_id=rid,
        revision=1,
        comment="no",
        decided_by=person("bob"),
        requester=person(alice),
    )
    await service.emit(
        "backoffice.approvals",
        "purchase_request.rejected",
        rid,
        request_id=rid,
        revision=1,
        comment="again",
        decided_by=person("bob"),
        requester=person(alice),
    )
    rejected = await service.wait_status(rid, alice, "rejected")
    assert rejected["allowed_actions"] == []
    entries = await service.wait_timeline(rid, alice, "purchase_request.rejected", count=2)
    assert [e["outcome"] for e in entries] == ["applied", "ignored"]
    timeline = await service.timeline(rid, alice)
    executed = next(e for e in timeline if e["type"] == "contract.executed")
    assert executed["outcome"] == "ignored"
    assert executed["status_after"] == "submitted"
    voided = next(e for e in timeline if e["type"] == "contract.voided")
    assert (voided["outcome"], voided["detail"], voided["data"]["reason"]) == ("recorded", "test", "test")
    assert (voided["note_code"], voided["note"]) == ("contract_voided", "Contract voided: test")


async def test_cancelling_needs_a_reason_and_is_refused_once_the_contract_is_executed(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.submitted(alice)
    rid = request["id"]
    assert_problem(await service.client.post(f"/requests/{rid}/cancel", json={"reason": ""}, headers=auth(alice)), 422)
    r = await service.client.post(f"/requests/{rid}/cancel", json={"reason": "budget frozen"}, headers=auth(alice))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    cancelled = (await service.published.wait_for("purchase_request.cancelled", subject=rid))[0]
    assert (cancelled.data["previous_status"], cancelled.data["reason"], cancelled.data["vendor_id"]) == (
        "submitted",
        "budget frozen",
        VENDOR,
    )
    again = assert_problem(
        await service.client.post(f"/requests/{rid}/cancel", json={"reason": "twice"}, headers=auth(alice)), 409
    )
    assert again["current_state"] == "cancelled"
    assert again["allowed_actions"] == []


async def test_an_illegal_transition_names_the_state_and_the_allowed_actions(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.create(alice)
    body = assert_problem(
        await service.client.post(f"/requests/{request['id']}/close", json={}, headers=auth(alice)), 409
    )
    assert body["current_state"] == "draft"
    assert body["allowed_actions"] == ["cancel", "edit", "submit"]
    assert body["type"].endswith("/illegal-transition")
    body = assert_problem(
        await service.client.post(
            f"/requests/{request['id']}/receipts",
            json={"lines": [{"line_no": 1, "quantity": "1"}]},
            headers=auth(alice),
        ),
        409,
    )
    assert body["current_state"] == "draft"
    assert (await service.read(request["id"], alice))["version"] == request["version"]


async def test_procurement_closes_a_partly_delivered_order_short_with_a_reason(service: Service) -> None:
    alice, paula = unique_user("alice"), unique_user("paula")
    request = await contract_executed(service, alice)
    rid = request["id"]
    assert_problem(
        await service.client.post(f"/requests/{rid}/cancel", json={"reason": "too late"}, headers=auth(alice)), 409
    )
    r = await service.client.post(
        f"/requests/{rid}/receipts", json={"lines": [{"line_no": 2, "quantity": "1"}]}, headers=auth(alice)
    )
    assert r.json()["status"] == "partially_received"
    refused = assert_problem(await service.client.post(f"/requests/{rid}/close", json={}, headers=auth(alice)), 409)
    assert refused["allowed_actions"] == ["close_short", "receive"]
    assert_problem(
        await service.client.post(f"/requests/{rid}/close", json={"short": True}, headers=auth(paula, "procurement")),
        422,
    )
    r = await service.client.post(
        f"/requests/{rid}/close",
        json={"short": True, "reason": "laptops discontinued"},
        headers=auth(paula, "procurement"),
    )
    assert r.status_code == 200, r.text
    closed = (await service.published.wait_for("purchase_request.closed", subject=rid))[0]
    assert (closed.data["short_closed"], closed.data["reason"], closed.data["actor"]["id"]) == (
        True,
        "laptops discontinued",
        paula,
    )


async def test_a_command_with_a_stale_if_match_is_refused(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.create(alice)
    await service.client.patch(
        f"/requests/{request['id']}", json={"title": "Changed"}, headers={**auth(alice), "If-Match": "*"}
    )
    stale = {**auth(alice), "If-Match": f'"{request["version"]}"'}
    assert_problem(await service.client.post(f"/requests/{request['id']}/submit", headers=stale), 412)
    assert (await service.read(request["id"], alice))["status"] == "draft"


async def test_whoever_signed_the_contract_for_the_buyer_may_not_confirm_receipt_or_close(service: Service) -> None:
    alice, paula = unique_user("alice"), unique_user("paula")
    request = await service.submitted(alice)
    rid = request["id"]
    await service.approve(request)
    for topic, type_, data in (
        ("backoffice.notifications", "vendor.notified", {"request_id": rid, "revision": 1, "vendor_id": VENDOR}),
        (
            "backoffice.notifications",
            "vendor.accepted",
            {"request": {"request_id": rid}, "vendor": {"vendor_id": VENDOR}},
        ),
        ("backoffice.contracts", "contract.generated", {"request_id": rid, "revision": 1, "vendor_id": VENDOR}),
        ("backoffice.contracts", "contract.signed", {"request_id": rid, "party": "buyer", "signer": {"id": paula}}),
        ("backoffice.contracts", "contract.executed", {"request_id": rid}),
    ):
        await service.emit(topic, type_, rid, contract_id="k", **data)
    await service.wait_status(rid, alice, "contract_executed")
    everything = {"lines": [{"line_no": 1, "quantity": "2"}, {"line_no": 2, "quantity": "1"}]}
    refused = assert_problem(
        await service.client.post(f"/requests/{rid}/receipts", json=everything, headers=auth(paula, "procurement")), 403
    )
    assert refused["type"].endswith("segregation-of-duties")
    assert refused["rule"] == "buyer_signer"
    r = await service.client.post(f"/requests/{rid}/receipts", json=everything, headers=auth(alice))
    assert r.status_code == 200, r.text
    assert_problem(
        await service.client.post(f"/requests/{rid}/close", json={}, headers=auth(paula, "procurement")), 403
    )
    assert (await service.read(rid, alice))["status"] == "received"
