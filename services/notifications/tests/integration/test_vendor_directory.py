from __future__ import annotations

import uuid

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from notifications_testkit import mailbox, requester_headers, retrieve_secret, staff, unique_email, wait_for_mail

VENDOR = {
    "legal_name": "ACME Supplies Ltd",
    "address": "1 Main Street, London",
    "language": "en",
}


async def test_procurement_creates_a_vendor_and_other_services_see_it_on_the_compacted_topic(service) -> None:  # type: ignore[no-untyped-def]
    body = VENDOR | {"contact_emails": [unique_email("sales")]}
    r = await service.client.post("/vendors", json=body, headers=staff())
    assert r.status_code == 201, r.text
    vendor = r.json()
    assert vendor["status"] == "active"
    assert vendor["has_webhook"] is False
    published = await service.vendors.wait_for("vendor.updated", subject=vendor["id"])
    data = published[0].data
    assert data["schema_version"] == 1
    assert data["legal_name"] == "ACME Supplies Ltd"
    assert data["actor"]["id"] == "pat"
    assert "secret" not in published[0].model_dump_json().lower()

    r = await service.client.patch(f"/vendors/{vendor['id']}", json={"status": "blocked"}, headers=staff())
    assert r.status_code == 200
    assert r.json()["status"] == "blocked"
    updates = await service.vendors.wait_for("vendor.updated", subject=vendor["id"], count=2)
    assert updates[-1].data["status"] == "blocked"

    admin = AIOKafkaAdminClient(bootstrap_servers=service.bootstrap)
    await admin.start()
    try:
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, service.prefix + "backoffice.vendors")]
        )
        entries = {c[0]: c[1] for c in configs[0].resources[0][4]}
        assert entries["cleanup.policy"] == "compact"
    finally:
        await admin.close()


async def test_a_requester_may_not_read_or_manage_vendors(service) -> None:  # type: ignore[no-untyped-def]
    r = await service.client.post(
        "/vendors", json=VENDOR | {"contact_emails": ["a@b.example"]}, headers=requester_headers()
    )
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (await service.client.get("/vendors")).status_code == 401


async def test_malformed_vendor_input_is_answered_with_a_problem_that_names_the_field(service) -> None:  # type: ignore[no-untyped-def]
    cases = [
        (VENDOR | {"contact_emails": ["not-an-email"]}, "contact_emails"),
        (VENDOR | {"contact_emails": ["a@b.example"], "legal_name": "A\x00B"}, "legal_name"),
        (VENDOR | {"contact_emails": ["a@b.example"], "language": "fr"}, "language"),
        (VENDOR | {"contact_emails": []}, "contact_emails"),
        (VENDOR | {"contact_emails": ["a@b.example"], "webhook_url": "ftp://x.example/"}, "https"),
        (VENDOR | {"contact_emails": ["a@b.example"], "legal_name": "x" * 301}, "legal_name"),
    ]
    before = len((await service.client.get("/vendors", params={"limit": 500}, headers=staff())).json())
    for body, mentioned in cases:
        r = await service.client.post("/vendors", json=body, headers=staff())
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert mentioned in r.text
    r = await service.client.post(
        "/vendors", content=b"{not json", headers=staff() | {"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert (await service.client.get("/vendors/not-a-uuid", headers=staff())).status_code == 422
    after = len((await service.client.get("/vendors", params={"limit": 500}, headers=staff())).json())
    assert after == before


async def test_an_unknown_vendor_is_a_404_whatever_the_webhook_url_of_its_change(service) -> None:  # type: ignore[no-untyped-def]
    """Existence is answered before the URL is judged, as for every other change of an unknown vendor."""
    r = await service.client.post("/vendors", json=VENDOR | {"contact_emails": [unique_email("u")]}, headers=staff())
    known, unknown = r.json()["id"], str(uuid.uuid4())
    for url in ("ftp://x.example/", "https://user:pw@x.example/hook"):
        missing = await service.client.patch(f"/vendors/{unknown}", json={"webhook_url": url}, headers=staff())
        assert missing.status_code == 404, (url, missing.text)
        assert missing.json()["type"].endswith("/vendor-not-found")
        refused = await service.client.patch(f"/vendors/{known}", json={"webhook_url": url}, headers=staff())
        assert refused.status_code == 422, (url, refused.text)
        assert refused.json()["type"].endswith("/unsafe-webhook-url")
    assert (await service.client.get(f"/vendors/{known}", headers=staff())).json()["webhook_url"] is None


async def test_a_rotation_never_shows_the_secret_and_the_previous_one_stays_valid_for_the_overlap(service) -> None:  # type: ignore[no-untyped-def]
    contact = unique_email("s")
    r = await service.client.post("/vendors", json=VENDOR | {"contact_emails": [contact]}, headers=staff())
    vendor_id = r.json()["id"]
    first = await service.client.post(f"/vendors/{vendor_id}/secrets", headers=staff())
    assert first.status_code == 201
    assert "secret" not in first.json()
    assert "whsec_" not in first.text
    assert first.json()["retrieval_sent_to"] == contact
    assert first.json()["previous_secrets_expire_at"] is None
    second = await service.client.post(f"/vendors/{vendor_id}/secrets", headers=staff())
    assert second.json()["id"] != first.json()["id"]
    assert second.json()["previous_secrets_expire_at"] is not None
    one = await retrieve_secret(service.client, contact, first.json()["id"])
    two = await retrieve_secret(service.client, contact, second.json()["id"])
    assert one.startswith("whsec_")
    assert two.startswith("whsec_")
    assert one != two
    shown = await service.client.get(f"/vendors/{vendor_id}", headers=staff())
    assert shown.json()["active_secrets"] == 2
    assert "whsec_" not in shown.text


async def test_a_rotation_names_the_rotator_on_the_vendor_record_and_is_announced_to_every_contact(service) -> None:  # type: ignore[no-untyped-def]
    contacts = [unique_email("sales"), unique_email("it")]
    r = await service.client.post("/vendors", json=VENDOR | {"contact_emails": contacts}, headers=staff())
    vendor_id = r.json()["id"]
    rotated = await service.client.post(f"/vendors/{vendor_id}/secrets", headers=staff())
    assert rotated.status_code == 201, rotated.text
    updates = await service.vendors.wait_for("vendor.updated", subject=vendor_id, count=2)
    assert updates[0].data["credential_administrators"] == []
    assert updates[-1].data["credential_administrators"] == ["pat"]
    assert updates[-1].data["actor"]["id"] == "pat"
    assert "whsec_" not in updates[-1].model_dump_json()
    for contact in contacts:
        mails = await wait_for_mail(contact, announcements=True)
        [mail] = [m for m in mails if m["subject"] == "Your webhook signing secret was renewed"]
        text = str(mail)
        assert "Pat Procurement" in text
        assert rotated.json()["id"] in text
        assert "whsec_" not in text
        assert "/vendor-secrets/" not in text
    # Only the first contact gets the retrieval link (the link, not the secret).
    first = [
        m for m in await wait_for_mail(contacts[0], count=2, announcements=True) if "/vendor-secrets/" in m["text"]
    ]
    assert len(first) == 1
    assert "whsec_" not in first[0]["text"]
    assert not [m for m in await mailbox(contacts[1], announcements=True) if "/vendor-secrets/" in m["text"]]


async def test_a_contact_change_is_told_to_the_removed_contacts_and_bars_its_author_from_buyer_signing(service) -> None:  # type: ignore[no-untyped-def]
    """The contacts are where a new secret's retrieval link goes: changing them to one's own address and then
    rotating must not go unnoticed by the vendor, and its author may not sign the vendor's contracts as buyer."""
    old, new = unique_email("sales"), unique_email("mine")
    r = await service.client.post("/vendors", json=VENDOR | {"contact_emails": [old]}, headers=staff())
    vendor_id = r.json()["id"]
    changed = await service.client.patch(f"/vendors/{vendor_id}", json={"contact_emails": [new]}, headers=staff())
    assert changed.status_code == 200, changed.text
    updates = await service.vendors.wait_for("vendor.updated", subject=vendor_id, count=2)
    assert updates[-1].data["credential_administrators"] == ["pat"]
    [mail] = [
        m
        for m in await wait_for_mail(old, announcements=True)
        if m["subject"] == "Your contact addresses with us were changed"
    ]
    assert "Pat Procurement" in str(mail)
    assert new in str(mail)
    # A change that keeps every contact tells nobody.
    again = await service.client.patch(f"/vendors/{vendor_id}", json={"address": "2 Main Street"}, headers=staff())
    assert again.status_code == 200
    assert [m for m in await mailbox(new) if m["subject"] == "Your contact addresses with us were changed"] == []
