from __future__ import annotations

import uuid

from notifications_flows import make_vendor, order_sent
from notifications_testkit import contract_generated, link_in, mailbox, signed, staff, wait_for_mail

from backoffice_common.events import new_event
from backoffice_common.testing import eventually, publish_events


async def test_a_generated_contract_is_signed_by_the_vendor_through_its_single_use_link(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service)
    snap, requester = await order_sent(service, vendor)
    generated = contract_generated(request_id=snap["request_id"], vendor_id=vendor["id"])
    sha = generated.data["document_sha256"]
    await publish_events(service.bootstrap, service.prefix + "backoffice.contracts", [generated])
    mails = await wait_for_mail(vendor["contact_emails"][0], count=2)
    contract_mail = mails[1]
    assert contract_mail["subject"] == f"Contract for purchase order {snap['number']} ready to sign"
    assert sha in contract_mail["text"]
    link = link_in(contract_mail["text"])
    page = await service.client.get(link)
    assert page.status_code == 200
    assert sha in page.text
    assert "https://contracts.example/documents/abc?token=xyz".replace("&", "&amp;") in page.text
    incomplete = await service.client.post(link, data={"signer_name": "Vera Vendor", "document_sha256": sha})
    assert incomplete.status_code == 422
    r = await service.client.post(
        link,
        data={
            "signer_name": "Vera Vendor",
            "signer_email": "vera@vendor.example",
            "document_sha256": sha,
            "confirm": "yes",
        },
        headers={"user-agent": "pytest-browser"},
    )
    assert r.status_code == 200, r.text
    signed_events = await service.events.wait_for("vendor.contract_signed", subject=snap["request_id"])
    data = signed_events[0].data
    assert data["contract_id"] == generated.data["contract_id"]
    assert data["document_sha256"] == sha
    assert data["signer_name"] == "Vera Vendor"
    assert data["signer_email"] == "vera@vendor.example"
    assert data["channel"] == "link"
    assert data["user_agent"] == "pytest-browser"
    assert signed_events[0].data["schema_version"] == 1
    buyer_mails = await service.client.get("/deliveries", params={"request_id": snap["request_id"]}, headers=staff())
    assert "contract_ready_buyer" not in {d["template"] for d in buyer_mails.json()}, "vendor first: not yet"
    vendor_signed = new_event(
        type="contract.signed",
        service="contracts",
        subject=snap["request_id"],
        data={
            "schema_version": 1,
            "contract_id": generated.data["contract_id"],
            "request_id": snap["request_id"],
            "party": "vendor",
            "signer": {"id": "vera@vendor.example", "name": "Vera Vendor", "email": "vera@vendor.example"},
            "document_sha256": sha,
            "signing_order": "vendor_first",
            "awaiting": ["buyer"],
        },
    )
    await publish_events(service.bootstrap, service.prefix + "backoffice.contracts", [vendor_signed])
    contract_id = generated.data["contract_id"]

    async def buyer_told() -> bool:
        # the buyer's signatory address is shared by every test: wait for this contract's mail
        found = await mailbox(service.settings.buyer_signatory_email)
        return any(contract_id in m["subject"] for m in found)

    await eventually(buyer_told, timeout=60, message="the buyer's turn is told")
    assert (
        await service.client.post(link, data={"signer_name": "X", "document_sha256": sha, "confirm": "yes"})
    ).status_code == 410
    executed = new_event(
        type="contract.executed",
        service="contracts",
        subject=snap["request_id"],
        data={
            "schema_version": 1,
            "contract_id": generated.data["contract_id"],
            "request_id": snap["request_id"],
            "document_sha256": sha,
            "executed_sha256": "e" * 64,
            "executed_at": "2026-11-27T10:00:00Z",
            "document_url": "https://contracts.example/executed/abc?token=t",
        },
    )
    await publish_events(service.bootstrap, service.prefix + "backoffice.contracts", [executed])
    requester_mails = await wait_for_mail(requester, count=3)
    subjects = [m["subject"] for m in requester_mails]
    assert f"Contract executed: {snap['number']}" in subjects
    vendor_mails = await wait_for_mail(vendor["contact_emails"][0], count=3)
    assert vendor_mails[2]["subject"] == f"Contract for purchase order {snap['number']} executed"
    assert "https://contracts.example/executed/abc?token=t" in vendor_mails[2]["text"]


async def test_a_contract_signature_over_a_different_document_is_refused(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service)
    snap, _ = await order_sent(service, vendor)
    generated = contract_generated(request_id=snap["request_id"], vendor_id=vendor["id"])
    await publish_events(service.bootstrap, service.prefix + "backoffice.contracts", [generated])
    await wait_for_mail(vendor["contact_emails"][0], count=2)
    payload = {
        "action": "sign_contract",
        "vendor_id": vendor["id"],
        "contract_id": generated.data["contract_id"],
        "document_sha256": "0" * 64,
        "signer_name": "Vera",
    }
    body, headers = signed(vendor["secret"], payload)
    r = await service.client.post("/vendor-webhook", content=body, headers=headers)
    assert r.status_code == 409
    assert "document_sha256" in r.json()["detail"]
    good = payload | {"document_sha256": generated.data["document_sha256"]}
    body, headers = signed(vendor["secret"], good)
    assert (await service.client.post("/vendor-webhook", content=body, headers=headers)).status_code == 200
    signed_events = await service.events.wait_for("vendor.contract_signed", subject=snap["request_id"])
    assert signed_events[0].data["channel"] == "webhook"
    unknown = good | {"contract_id": str(uuid.uuid4())}
    body, headers = signed(vendor["secret"], unknown)
    assert (await service.client.post("/vendor-webhook", content=body, headers=headers)).status_code == 404
