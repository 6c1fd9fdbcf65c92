from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from notifications_flows import answer, make_vendor, order_sent
from notifications_testkit import (
    VendorSystem,
    approved,
    link_in,
    mailbox,
    retrieve_secret,
    signed,
    snapshot,
    staff,
    unique_email,
    wait_for_mail,
)
from standardwebhooks import Webhook

from backoffice_common.events import new_event
from backoffice_common.testing import eventually, publish_events


async def test_an_approved_order_reaches_every_vendor_contact_in_their_language_and_vendor_notified_is_published_once(
    service,
) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service, language="de", contacts=2)
    requester = unique_email("alice")
    snap = snapshot(vendor_id=vendor["id"], requester_email=requester)
    event = approved(snap)
    # The same event twice (a redelivery): still one email per contact.
    await publish_events(service.bootstrap, service.prefix + "backoffice.approvals", [event, event])
    for contact in vendor["contact_emails"]:
        mails = await wait_for_mail(contact)
        assert mails[0]["subject"] == f"Bestellung {snap['number']}: Laptops for the team"
        assert "Gesamt: 2.400,00 EUR" in mails[0]["text"]
        assert "/vendor-links/" in mails[0]["text"]
        assert "/vendor-links/" in mails[0]["html"]
    notified = await service.events.wait_for("vendor.notified", subject=snap["request_id"])
    assert notified[0].data == {
        "schema_version": 1,
        "request_id": snap["request_id"],
        "revision": 1,
        "vendor_id": vendor["id"],
        "channel": "email",
        "actor": {"id": "system", "name": "notifications", "role": "system"},
    }
    assert notified[0].correlationid == event.correlationid
    assert notified[0].causationid == event.id
    approved_mail = await wait_for_mail(requester)
    assert approved_mail[0]["subject"].startswith("Approved:")
    await asyncio.sleep(1.0)  # give a duplicate the chance to show up
    for contact in vendor["contact_emails"]:
        assert len(await wait_for_mail(contact)) == 1
    assert len(service.events.of_type("vendor.notified", subject=snap["request_id"])) == 1
    deliveries = await service.client.get("/deliveries", params={"request_id": snap["request_id"]}, headers=staff())
    assert sorted(d["template"] for d in deliveries.json()) == ["purchase_order", "purchase_order", "request_approved"]
    assert all(d["status"] == "sent" and d["attempts"] == 1 for d in deliveries.json())


async def test_the_vendor_accepts_through_the_signed_link_page_which_works_once(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service)
    snap, requester = await order_sent(service, vendor)
    mail = (await wait_for_mail(vendor["contact_emails"][0]))[0]
    link = link_in(mail["text"])
    page = await service.client.get(link)
    assert page.status_code == 200
    assert '<form method="post">' in page.text
    assert "<script" not in page.text
    assert snap["number"] in page.text
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    r = await service.client.post(link, data={"action": "accept", "expected_delivery": "2027-01-10", "note": "On time"})
    assert r.status_code == 200, r.text
    accepted = await service.events.wait_for("vendor.accepted", subject=snap["request_id"])
    data = accepted[0].data
    assert data["request"] == snap
    assert data["vendor"]["vendor_id"] == vendor["id"]
    assert data["vendor"]["has_webhook"] is False
    assert data["expected_delivery"] == "2027-01-10"
    assert data["note"] == "On time"
    assert data["actor"]["role"] == "vendor"
    again = await service.client.post(link, data={"action": "decline", "reason": "changed my mind"})
    assert again.status_code == 410
    assert (await service.client.get(link)).status_code == 410
    mails = await wait_for_mail(requester, count=2)
    assert any(m["subject"].startswith("Vendor accepted") for m in mails)
    assert not service.events.of_type("vendor.declined", subject=snap["request_id"])


async def test_a_german_requester_and_a_german_vendor_read_german_emails_and_pages(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service, language="de")
    requester = unique_email("greta")
    snap = snapshot(vendor_id=vendor["id"], requester_email=requester)
    event = approved(snap)
    event.data["requester"] = {"id": "alice", "name": "Alice", "email": requester, "language": "de"}
    await publish_events(service.bootstrap, service.prefix + "backoffice.approvals", [event])
    [approved_mail] = await wait_for_mail(requester)
    assert approved_mail["subject"] == f"Freigegeben: {snap['number']} Laptops for the team"
    link = link_in((await wait_for_mail(vendor["contact_emails"][0]))[0]["text"])
    page = await service.client.get(link, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert page.headers["content-language"] == "de"
    assert '<html lang="de">' in page.text
    assert "Bestellung annehmen" in page.text
    assert "2.400,00 EUR" in page.text
    assert "15. Januar 2027" in page.text
    done = await service.client.post(link, data={"action": "accept", "note": "Pünktlich"})
    assert done.status_code == 200, done.text
    assert "Die Bestellung ist angenommen" in done.text
    mails = await wait_for_mail(requester, count=2)
    assert any(m["subject"] == f"Lieferant hat angenommen: {snap['number']}" for m in mails)
    used = await service.client.get(link, headers={"Accept-Language": "en"})
    assert (used.status_code, used.headers["content-language"]) == (410, "de")
    unknown = await service.client.get("/vendor-links/garbage", headers={"Accept-Language": "fr, de;q=0.8, en;q=0.5"})
    assert (unknown.status_code, unknown.headers["content-language"]) == (404, "de")
    assert "Link ungültig" in unknown.text
    english = await service.client.get("/vendor-links/garbage")
    assert "Link not valid" in english.text


async def test_a_tampered_or_unknown_link_is_refused(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service)
    await order_sent(service, vendor)
    link = link_in((await wait_for_mail(vendor["contact_emails"][0]))[0]["text"])
    assert (await service.client.get(link[:-3] + "abc")).status_code == 410
    assert (await service.client.get("/vendor-links/garbage")).status_code == 404
    assert (await service.client.get(f"/vendor-links/{uuid.uuid4()}.abc")).status_code == 404
    r = await service.client.post(link, data={"action": "launch"})
    assert r.status_code == 422
    assert "action" in r.json()["detail"]


async def test_the_vendor_declines_through_the_webhook_and_a_replayed_id_is_refused(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service)
    snap, _ = await order_sent(service, vendor)
    payload = {
        "action": "decline",
        "vendor_id": vendor["id"],
        "request_id": snap["request_id"],
        "reason": "Out of stock",
    }
    body, headers = signed(vendor["secret"], payload)
    r = await service.client.post("/vendor-webhook", content=body, headers=headers)
    assert r.status_code == 200, r.text
    declined = await service.events.wait_for("vendor.declined", subject=snap["request_id"])
    assert declined[0].data["reason"] == "Out of stock"
    assert declined[0].data["revision"] == 1
    replay = await service.client.post("/vendor-webhook", content=body, headers=headers)
    assert replay.status_code == 409
    assert replay.json()["type"].endswith("webhook-replayed")


async def test_bad_signatures_stale_timestamps_and_changed_bodies_are_refused(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service)
    snap, _ = await order_sent(service, vendor)
    payload = {"action": "accept", "vendor_id": vendor["id"], "request_id": snap["request_id"]}
    wrong_secret = await answer(service, "whsec_" + "QUJD" * 8, payload)
    assert wrong_secret.status_code == 401
    stale = await answer(service, vendor["secret"], payload, timestamp=int(time.time()) - 301)
    assert stale.status_code == 401
    assert "too old" in stale.json()["detail"]
    body, headers = signed(vendor["secret"], payload)
    changed = await service.client.post("/vendor-webhook", content=body.replace(b"accept", b"decline"), headers=headers)
    assert changed.status_code == 401
    unsigned = await service.client.post("/vendor-webhook", json=payload)
    assert unsigned.status_code == 401
    assert unsigned.headers["content-type"].startswith("application/problem+json")
    not_json = await answer(service, vendor["secret"], b"\xff\xfe")
    assert not_json.status_code == 400
    bad_field = await answer(service, vendor["secret"], payload | {"expected_delivery": "tomorrow"})
    assert bad_field.status_code == 422
    assert "expected_delivery" in bad_field.json()["detail"]
    assert not service.events.of_type("vendor.accepted", subject=snap["request_id"])
    ok = await answer(service, vendor["secret"], payload)
    assert ok.status_code == 200


async def test_a_vendor_cannot_answer_another_vendors_order_nor_answer_twice(service) -> None:  # type: ignore[no-untyped-def]
    vendor, intruder = await make_vendor(service), await make_vendor(service)
    snap, _ = await order_sent(service, vendor)
    foreign = {"action": "accept", "vendor_id": intruder["id"], "request_id": snap["request_id"]}
    r = await answer(service, intruder["secret"], foreign)
    assert r.status_code == 409
    assert "not sent to this vendor" in r.json()["detail"]
    # Signed with the intruder's secret but claiming to be the vendor: the signature does not match.
    spoof = {"action": "accept", "vendor_id": vendor["id"], "request_id": snap["request_id"]}
    assert (await answer(service, intruder["secret"], spoof)).status_code == 401
    assert (await answer(service, vendor["secret"], spoof)).status_code == 200
    twice = await answer(service, vendor["secret"], spoof | {"note": "again"})
    assert twice.status_code == 409
    assert "does not wait" in twice.json()["detail"]
    await service.events.wait_for("vendor.accepted", subject=snap["request_id"])
    assert len(service.events.of_type("vendor.accepted", subject=snap["request_id"])) == 1


async def test_a_secret_rotated_mid_flight_still_verifies_with_the_old_and_the_new_secret(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service)
    snap, _ = await order_sent(service, vendor)
    old = vendor["secret"]
    body, headers = signed(
        old, {"action": "decline", "vendor_id": vendor["id"], "request_id": snap["request_id"], "reason": "x"}
    )
    rotated = await service.client.post(f"/vendors/{vendor['id']}/secrets", headers=staff())
    new = await retrieve_secret(service.client, vendor["contact_emails"][0], rotated.json()["id"])
    assert new != old
    r = await service.client.post("/vendor-webhook", content=body, headers=headers)
    assert r.status_code == 200, r.text
    other = await make_vendor(service)
    snap2, _ = await order_sent(service, other)
    await service.client.post(f"/vendors/{other['id']}/secrets", headers=staff())
    # A message signed with the brand-new secret is accepted too.
    rotated2 = await service.client.post(f"/vendors/{other['id']}/secrets", headers=staff())
    r2 = await answer(
        service,
        await retrieve_secret(service.client, other["contact_emails"][0], rotated2.json()["id"]),
        {"action": "accept", "vendor_id": other["id"], "request_id": snap2["request_id"]},
    )
    assert r2.status_code == 200


async def test_a_vendor_system_that_fails_three_times_gets_the_order_on_the_fourth_attempt(service) -> None:  # type: ignore[no-untyped-def]
    with VendorSystem(statuses=[500, 500, 500, 200]) as system:
        vendor = await make_vendor(service, webhook_url=system.url)
        snap, _ = await order_sent(service, vendor)

        async def delivered() -> Any:
            r = await service.client.get("/deliveries", params={"request_id": snap["request_id"]}, headers=staff())
            hooks = [d for d in r.json() if d["channel"] == "webhook"]
            return hooks if hooks and hooks[0]["status"] == "sent" else None

        hooks = await eventually(delivered, timeout=30)
        assert hooks[0]["attempts"] == 4
        assert len(system.received) == 4
        ids = {headers["webhook-id"] for headers, _ in system.received}
        assert len(ids) == 1, "every retry carries the same webhook-id"
        headers, body = system.received[-1]
        payload = Webhook(vendor["secret"]).verify(body, headers)
        assert payload["type"] == "purchase_order.approved"
        assert payload["order"]["request_id"] == snap["request_id"]
        assert len(service.events.of_type("vendor.notified", subject=snap["request_id"])) == 1


async def test_a_cancellation_after_the_order_went_out_tells_the_vendor(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service, language="de")
    snap, _ = await order_sent(service, vendor)
    cancelled = new_event(
        type="purchase_request.cancelled",
        service="requests",
        subject=snap["request_id"],
        data={
            "schema_version": 1,
            "request_id": snap["request_id"],
            "revision": 1,
            "reason": "Budget frozen",
            "previous_status": "awaiting_vendor",
            "vendor_id": vendor["id"],
            "actor": {"id": "alice", "name": "Alice", "role": "requester"},
        },
    )
    await publish_events(service.bootstrap, service.prefix + "backoffice.requests", [cancelled])
    mails = await wait_for_mail(vendor["contact_emails"][0], count=2)
    assert mails[1]["subject"] == f"Bestellung {snap['number']} storniert"
    assert "Budget frozen" in mails[1]["text"]
    late = await answer(
        service,
        vendor["secret"],
        {"action": "accept", "vendor_id": vendor["id"], "request_id": snap["request_id"]},
    )
    assert late.status_code == 409


async def test_after_a_decline_the_reassigned_order_goes_to_the_new_vendor_and_only_it_may_answer(service) -> None:  # type: ignore[no-untyped-def]
    first, second = await make_vendor(service), await make_vendor(service, language="de")
    snap, requester = await order_sent(service, first)
    declined = await answer(
        service,
        first["secret"],
        {
            "action": "decline",
            "vendor_id": first["id"],
            "request_id": snap["request_id"],
            "reason": "No capacity",
        },
    )
    assert declined.status_code == 200
    requester_mails = await wait_for_mail(requester, count=2)
    assert any(m["subject"].startswith("Vendor declined") and "No capacity" in m["text"] for m in requester_mails)
    revised = snap | {"revision": 2, "vendor_id": second["id"]}
    reassigned = new_event(
        type="purchase_request.vendor_reassigned",
        service="requests",
        subject=snap["request_id"],
        data={
            "schema_version": 1,
            "request": revised,
            "previous_vendor_id": first["id"],
            "actor": {"id": "pat", "name": "Pat", "role": "procurement"},
        },
    )
    await publish_events(service.bootstrap, service.prefix + "backoffice.requests", [reassigned])
    mails = await wait_for_mail(second["contact_emails"][0])
    assert mails[0]["subject"].startswith(f"Bestellung {snap['number']}")
    assert "(Revision 2)" in mails[0]["text"]
    notified = await service.events.wait_for("vendor.notified", subject=snap["request_id"], count=2)
    assert [(e.data["revision"], e.data["vendor_id"]) for e in notified] == [
        (1, first["id"]),
        (2, second["id"]),
    ]
    late = await answer(
        service,
        first["secret"],
        {"action": "accept", "vendor_id": first["id"], "request_id": snap["request_id"]},
    )
    assert late.status_code == 409
    stale_link = link_in((await wait_for_mail(first["contact_emails"][0]))[0]["text"])
    assert (await service.client.get(stale_link)).status_code == 409
    stale_post = await service.client.post(stale_link, data={"action": "accept"})
    assert stale_post.status_code == 409
    assert "text/html" in stale_post.headers["content-type"]
    ok = await answer(
        service,
        second["secret"],
        {"action": "accept", "vendor_id": second["id"], "request_id": snap["request_id"]},
    )
    assert ok.status_code == 200
    accepted = await service.events.wait_for("vendor.accepted", subject=snap["request_id"])
    assert accepted[0].data["request"]["revision"] == 2
    assert accepted[0].data["vendor"]["vendor_id"] == second["id"]


async def test_an_order_for_an_unknown_or_blocked_vendor_is_reported_as_a_failed_notification(service) -> None:  # type: ignore[no-untyped-def]
    blocked = await make_vendor(service)
    await service.client.patch(f"/vendors/{blocked['id']}", json={"status": "blocked"}, headers=staff())
    unknown = snapshot(vendor_id=str(uuid.uuid4()), requester_email=unique_email("alice"))
    to_blocked = snapshot(vendor_id=blocked["id"], requester_email=unique_email("alice"))
    await publish_events(
        service.bootstrap, service.prefix + "backoffice.approvals", [approved(unknown), approved(to_blocked)]
    )
    failed_unknown = await service.events.wait_for("notification.failed", subject=unknown["request_id"])
    assert failed_unknown[0].data["error"] == "unknown vendor"
    assert failed_unknown[0].data["template"] == "purchase_order"
    failed_blocked = await service.events.wait_for("notification.failed", subject=to_blocked["request_id"])
    assert failed_blocked[0].data["error"] == "the vendor is blocked"
    assert not service.events.of_type("vendor.notified", subject=to_blocked["request_id"])


async def test_an_approval_read_after_the_cancellation_that_followed_it_sends_nothing(service) -> None:  # type: ignore[no-untyped-def]
    """The requests topic can run ahead of the approvals topic: the cancellation must win."""
    vendor = await make_vendor(service)
    snap = snapshot(vendor_id=vendor["id"], requester_email=unique_email("requester"))
    submitted = new_event(
        type="purchase_request.submitted",
        service="requests",
        subject=snap["request_id"],
        data={"schema_version": 1, "request": snap, "submitted_at": "2026-11-27T08:00:00+00:00"},
    )
    cancelled = new_event(
        type="purchase_request.cancelled",
        service="requests",
        subject=snap["request_id"],
        data={
            "schema_version": 1,
            "request_id": snap["request_id"],
            "revision": 1,
            "reason": "Changed our mind",
            "previous_status": "approved",
            "vendor_id": vendor["id"],
            "actor": {"id": "alice", "name": "Alice", "role": "requester"},
        },
    )
    await publish_events(service.bootstrap, service.prefix + "backoffice.requests", [submitted, cancelled])
    await asyncio.sleep(2)
    # A later event of the same request on the same partition: once it is handled, so is the approval.
    approver = unique_email("approver")
    marker = new_event(
        type="approval.task_assigned",
        service="approvals",
        subject=snap["request_id"],
        data={
            "schema_version": 1,
            "task_id": str(uuid.uuid4()),
            "request_id": snap["request_id"],
            "revision": 1,
            "chain_id": str(uuid.uuid4()),
            "step": "manager",
            "assignee": {"id": "carl", "name": "Carl", "email": approver},
            "on_behalf_of": None,
            "due_at": "2027-01-01T00:00:00+00:00",
            "request_title": snap["title"],
            "request_number": snap["number"],
        },
    )
    await publish_events(service.bootstrap, service.prefix + "backoffice.approvals", [approved(snap), marker])
    await wait_for_mail(approver)
    r = await service.client.get("/deliveries", params={"request_id": snap["request_id"]}, headers=staff())
    assert not [d for d in r.json() if d["template"] == "purchase_order"]
    assert await mailbox(vendor["contact_emails"][0]) == []


async def test_a_blocked_vendor_can_no_longer_accept_an_order_it_was_sent(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service)
    snap, _ = await order_sent(service, vendor)
    blocked = await service.client.patch(f"/vendors/{vendor['id']}", json={"status": "blocked"}, headers=staff())
    assert blocked.status_code == 200, blocked.text
    r = await answer(
        service,
        vendor["secret"],
        {"action": "accept", "vendor_id": vendor["id"], "request_id": snap["request_id"]},
    )
    assert r.status_code == 409, r.text
    assert "blocked" in r.json()["detail"]
    assert service.events.of_type("vendor.accepted", subject=snap["request_id"]) == []


async def test_malformed_webhooks_are_refused_with_400_before_any_login(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service)
    payload = {"action": "accept", "vendor_id": vendor["id"], "request_id": str(uuid.uuid4())}
    body, headers = signed(vendor["secret"], payload)
    superscript = await service.client.post(
        "/vendor-webhook", content=body, headers={**headers, "webhook-timestamp": "²³".encode("latin-1")}
    )
    assert superscript.status_code == 400, superscript.text
    assert superscript.json()["type"].endswith("malformed-webhook-headers")
    for nested in (b"[" * 60_000, b'{"a":' * 6_000 + b"1" + b"}" * 6_000):
        deep = await service.client.post("/vendor-webhook", content=nested, headers=headers)
        assert deep.status_code == 400, deep.text
        assert deep.headers["content-type"] == "application/problem+json"
        assert "nested too deeply" in deep.json()["detail"]
