"""Issue #12 across the services: a vendor's secret reaches only the vendor; blocking a vendor withdraws its
outstanding orders and its links."""

from __future__ import annotations

import re

from backoffice_cli.client import Cast, Platform


async def test_the_rotator_never_sees_the_secret_and_the_vendor_fetches_it_once_from_the_mailed_link(
    client: Platform, cast: Cast
) -> None:
    vendor = await client.create_vendor(cast)  # the admin rotates; the "vendor" fetches it from the mail sink
    notifications = client.endpoints.notifications
    rotated = await client.call("POST", f"{notifications}/vendors/{vendor.id}/secrets", cast.procurement, expect=201)
    assert "whsec_" not in rotated.text
    assert rotated.json()["retrieval_sent_to"] == vendor.emails[0]
    new = await client.retrieve_secret(vendor.emails[0], rotated.json()["id"])
    assert new.startswith("whsec_")
    assert new != vendor.secret
    mails = await client.mail_to(vendor.emails[0], announcements=True)
    [link] = [
        re.search(r"\S+/vendor-secrets/\S+", m["text"]).group(0)  # type: ignore[union-attr]
        for m in mails
        if rotated.json()["id"] in m["text"] and "/vendor-secrets/" in m["text"]
    ]
    again = await client.call("POST", link, None, expect=410)
    assert "already retrieved" in again.text
    assert "whsec_" not in again.text
    assert all("whsec_" not in m["text"] for m in mails)  # no mail carries a secret, only the link


async def test_blocking_a_vendor_withdraws_its_outstanding_orders_and_its_links(client: Platform, cast: Cast) -> None:
    vendor = await client.create_vendor(cast)
    small = {"quantity": 1, "unit_price": "500.00"}  # the manager alone approves

    sent = await client.create_draft(cast, client.draft(vendor, cast, **small))  # type: ignore[arg-type]
    await client.submit(cast, sent["id"])
    await client.decide(cast.manager, (await client.task_for(cast.manager, sent["id"]))["id"], "approved")
    await client.wait_status(cast.requester, sent["id"], "vendor_notified")
    order_mail = await client.eventually("the order mail", lambda: client.mail_to(vendor.emails[0]))
    order_link = re.search(r"\S+/vendor-links/\S+", order_mail[0]["text"]).group(0)  # type: ignore[union-attr]
    assert (await client.call("GET", order_link, None)).status_code == 200

    waiting = await client.create_draft(cast, client.draft(vendor, cast, **small))  # type: ignore[arg-type]
    await client.submit(cast, waiting["id"])
    task = await client.task_for(cast.manager, waiting["id"])
    draft = await client.create_draft(cast, client.draft(vendor, cast, **small))  # type: ignore[arg-type]

    await client.call(
        "PATCH", f"{client.endpoints.notifications}/vendors/{vendor.id}", cast.procurement, json={"status": "blocked"}
    )

    # The order link stops working at once (notifications), whatever the other services do.
    withdrawn_link = await client.call("GET", order_link, None, expect=410)
    assert "withdrawn" in withdrawn_link.text
    assert (await client.call("POST", order_link, None, data={"action": "accept"}, expect=410)).status_code == 410

    for request_id in (sent["id"], waiting["id"]):
        cancelled = await client.wait_status(cast.requester, request_id, "cancelled")
        assert cancelled["waiting_on"] is None
        [entry] = [
            e for e in await client.timeline(cast.requester, request_id) if e["type"] == "purchase_request.cancelled"
        ]
        assert entry["actor"]["id"] == "system"
        assert entry["data"]["cause"] == "vendor_blocked"
        assert "blocked by Paul Procurement" in entry["data"]["reason"]
    # The draft is no order: it stays, and cannot be submitted while the vendor is blocked.
    assert (await client.request(cast.requester, draft["id"]))["status"] == "draft"
    refused = await client.call(
        "POST", f"{client.endpoints.requests}/requests/{draft['id']}/submit", cast.requester, expect=422
    )
    assert "blocked" in refused.text

    # Compensation: the manager's open task on the withdrawn request is gone, and the vendor cannot accept.
    async def task_closed() -> bool | None:
        r = await client.call("GET", f"{client.endpoints.approvals}/tasks?request_id={waiting['id']}", cast.manager)
        return True if not [t for t in r.json()["items"] if t["id"] == task["id"] and t["status"] == "open"] else None

    await client.eventually("the task is withdrawn", task_closed)
    answer = await client.vendor_says(vendor, {"action": "accept", "request_id": sent["id"]}, expect=409)
    assert "cancelled" in answer.text or "blocked" in answer.text  # whichever notifications checks first
