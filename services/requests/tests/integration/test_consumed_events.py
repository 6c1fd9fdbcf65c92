"""The consumer: redeliveries change nothing, unusable events go to the dead-letter topic, nothing stops it."""

from __future__ import annotations

import asyncio
import uuid

from requests_testkit import VENDOR, Service, unique_user

from backoffice_common.events import new_event
from backoffice_common.testing import TopicReader, publish_events


async def test_a_redelivered_event_changes_nothing(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.submitted(alice)
    rid = request["id"]
    approved = new_event(
        type="purchase_request.approved",
        service="approvals",
        subject=rid,
        data={"schema_version": 1, "request": {"request_id": rid, "revision": 1}, "chain_id": "c", "approvers": []},
    )
    topic = f"{service.prefix}backoffice.approvals"
    await publish_events(service.bootstrap, topic, [approved, approved])
    first = await service.wait_status(rid, alice, "approved")
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
    timeline = await service.timeline(rid, alice)
    assert [e["type"] for e in timeline].count("purchase_request.approved") == 1
    assert first["version"] + 1 == (await service.read(rid, alice))["version"]


async def test_an_unusable_event_is_dead_lettered_and_the_consumer_goes_on(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.submitted(alice)
    rid = request["id"]
    dlq = f"{service.prefix}backoffice.notifications.dlq"
    async with TopicReader(service.bootstrap, dlq, partitions=3) as dead:
        bad = await service.emit(
            "backoffice.notifications", "vendor.notified", "not-a-request", vendor_id=VENDOR, channel="email"
        )
        await service.emit(
            "backoffice.notifications",
            "vendor.declined",
            str(uuid.uuid4()),
            request_id=str(uuid.uuid4()),
            vendor_id=VENDOR,
        )
        await service.approve(request)
        await service.wait_status(rid, alice, "approved")
        dead_letters = await dead.wait_for("vendor.notified", subject="not-a-request")
        assert dead_letters[0].id == bad.id
        await asyncio.sleep(0.5)
        assert len(dead.events) == 1


async def test_a_vendors_answer_before_the_notification_implies_it(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.submitted(alice)
    rid = request["id"]
    await service.approve(request)
    await service.wait_status(rid, alice, "approved")
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
        "backoffice.notifications",
        "vendor.notified",
        rid,
        request_id=rid,
        revision=1,
        vendor_id=VENDOR,
        channel="webhook",
    )
    await service.wait_status(rid, alice, "vendor_accepted")
    notified = await service.wait_timeline(rid, alice, "vendor.notified")
    accepted = await service.wait_timeline(rid, alice, "vendor.accepted")
    assert (accepted[0]["outcome"], accepted[0]["detail"]) == ("applied", "implied first: notify_vendor")
    assert notified[0]["outcome"] == "ignored"


async def test_facts_read_before_the_facts_they_follow_are_kept_and_applied_in_order(service: Service) -> None:
    """Topics are not ordered among themselves: with two consumer instances the contracts topic can run ahead."""
    alice = unique_user("alice")
    request = await service.submitted(alice)
    rid = request["id"]
    await service.emit(
        "backoffice.contracts",
        "contract.generated",
        rid,
        contract_id="k1",
        request_id=rid,
        revision=1,
        vendor_id=VENDOR,
        document_sha256="0" * 64,
    )
    await service.emit(
        "backoffice.notifications",
        "vendor.notified",
        rid,
        request_id=rid,
        revision=1,
        vendor_id=VENDOR,
        channel="email",
    )
    early = await service.wait_timeline(rid, alice, "vendor.notified")
    assert early[0]["outcome"] == "deferred"
    await service.approve(request)
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
    await service.wait_status(rid, alice, "contract_pending")
    timeline = await service.timeline(rid, alice)
    outcomes = {e["type"]: e["outcome"] for e in timeline}
    assert outcomes["contract.generated"] == "applied"
    assert outcomes["vendor.notified"] == "applied"
    assert [e["type"] for e in timeline].index("contract.generated") < [e["type"] for e in timeline].index(
        "vendor.accepted"
    )
