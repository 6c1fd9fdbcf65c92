"""Helpers for the order and contract flow tests (shared through notifications_testkit's folder)."""

from __future__ import annotations

import uuid
from typing import Any

from notifications_testkit import approved, retrieve_secret, signed, snapshot, staff, unique_email, wait_for_mail

from backoffice_common.testing import eventually, publish_events


async def make_vendor(
    service: Any, *, language: str = "en", contacts: int = 1, webhook_url: str | None = None, retrieve: bool = True
) -> dict[str, Any]:
    """A vendor with a webhook secret, fetched (``retrieve``) as the vendor does: from the one-time link mailed
    to its first contact, read in the shared mail sink. Without ``retrieve`` (a test with an SMTP server of its
    own) the secret is made but stays unknown (``secret`` None)."""
    body = {
        "legal_name": f"Vendor {uuid.uuid4().hex[:6]}",
        "address": "Hauptstraße 1, Berlin",
        "contact_emails": [unique_email("vendor") for _ in range(contacts)],
        "language": language,
        "webhook_url": webhook_url,
    }
    r = await service.client.post("/vendors", json=body, headers=staff())
    assert r.status_code == 201, r.text
    vendor: dict[str, Any] = r.json()
    rotated = await service.client.post(f"/vendors/{vendor['id']}/secrets", headers=staff())
    assert rotated.status_code == 201, rotated.text
    contact, secret_id = vendor["contact_emails"][0], rotated.json()["id"]
    vendor["secret"] = await retrieve_secret(service.client, contact, secret_id) if retrieve else None
    return vendor


async def order_sent(service: Any, vendor: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """An approved order, waited for until it is in the vendor's mailbox; returns (snapshot, requester email)."""
    requester = unique_email("alice")
    snap = snapshot(vendor_id=vendor["id"], requester_email=requester)
    await publish_events(service.bootstrap, service.prefix + "backoffice.approvals", [approved(snap)])
    await wait_sent(service, snap["request_id"], "purchase_order")
    await wait_for_mail(vendor["contact_emails"][0])
    return snap, requester


async def wait_sent(service: Any, request_id: str, template: str) -> None:
    """Polls our own delivery API (cheap) before the shared mailbox (slow under load) is asked once."""

    async def sent() -> bool:
        r = await service.client.get("/deliveries", params={"request_id": request_id}, headers=staff())
        return any(d["template"] == template and d["status"] == "sent" for d in r.json())

    await eventually(sent, timeout=60, message=f"{template} for {request_id} not sent")


async def answer(service: Any, secret: str, payload: dict[str, Any], **kw: Any) -> Any:
    body, headers = signed(secret, payload, **kw)
    return await service.client.post("/vendor-webhook", content=body, headers=headers)
