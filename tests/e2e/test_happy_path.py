"""A purchase order from draft to closed through the four services as real processes."""

from __future__ import annotations

import io
import json
import os
from typing import Any

import jsonschema
import pypdf
from aiokafka import AIOKafkaConsumer
from event_catalog_kit import validate
from platform_kit import Platform as PlatformProcesses
from vendor_system_kit import VendorSystem

from backoffice_cli.client import Cast, Platform
from backoffice_cli.flow import walk

BUYER_SIGNATORY = "procurement-signatory@backoffice.example"
"""NOTIFICATIONS_BUYER_SIGNATORY_EMAIL's default: the platform of these tests does not set it."""


async def test_a_purchase_order_goes_from_draft_to_closed_with_emails_webhooks_and_a_sealed_contract(
    client: Platform, cast: Cast, vendor_system: VendorSystem, platform: PlatformProcesses
) -> None:
    vendor = await client.create_vendor(cast, webhook_url=vendor_system.url)
    vendor_system.secret = vendor.secret
    draft = await client.create_draft(cast, client.draft(vendor, cast))
    request_id = draft["id"]
    assert draft["status"] == "draft"
    assert draft["total"] == "12749.50"

    await client.submit(cast, request_id)
    manager_task = await client.task_for(cast.manager, request_id)

    async def waits_for_the_manager() -> dict[str, Any] | None:
        waiting = (await client.request(cast.requester, request_id))["waiting_on"]
        return waiting if waiting and waiting["who"]["id"] == cast.manager.id else None

    waiting = await client.eventually("the request waits for the manager", waits_for_the_manager)
    assert (waiting["who"]["role"], waiting["what"]) == ("approver", "approve or reject (step manager)")
    assert waiting["due"] is not None
    await client.decide(cast.manager, manager_task["id"], "approved")
    head_task = await client.task_for(cast.head, request_id)
    await client.decide(cast.head, head_task["id"], "approved")

    await client.wait_status(cast.requester, request_id, "vendor_notified")
    await client.eventually("the vendor's system got the order", lambda: _received(vendor_system))
    order = vendor_system.received[0]["body"]
    assert request_id in str(order)
    vendor_mail = await client.eventually("the order email", lambda: client.mail_to(vendor.emails[0]))
    assert any(draft["number"] in m["subject"] or draft["number"] in m["text"] for m in vendor_mail)

    await client.vendor_says(vendor, {"action": "accept", "request_id": request_id, "note": "Delivery in two weeks"})
    await client.wait_status(cast.requester, request_id, "contract_pending")
    contract = await client.contract_for(cast.procurement, request_id)

    async def ready_to_sign_mail() -> list[dict[str, object]]:
        mails = await client.mail_to(vendor.emails[0])
        return [
            m for m in mails if "ready to sign" in str(m["subject"]) and contract["document_sha256"] in str(m["text"])
        ]

    await client.eventually("the vendor is emailed the contract to sign", ready_to_sign_mail)

    async def buyer_told() -> list[dict[str, object]]:
        mails = await client.mail_to(BUYER_SIGNATORY)
        return [m for m in mails if contract["id"] in str(m["subject"])]

    assert await buyer_told() == [], "vendor first: the buyer's signatory is not told before the vendor signs"
    await client.vendor_says(
        vendor,
        {
            "action": "sign_contract",
            "contract_id": contract["id"],
            "document_sha256": contract["document_sha256"],
            "signer_name": "Vera Vendor",
        },
    )
    await client.eventually(
        "the vendor's signature reached the contract",
        lambda: _signed_by(client, cast, request_id, "vendor"),
    )
    await client.eventually("the buyer's signatory is told it is their turn", buyer_told)

    async def waits_for_the_buyer() -> dict[str, object] | None:
        waiting = (await client.request(cast.requester, request_id))["waiting_on"]
        return waiting if waiting and waiting["who"]["role"] == "buyer_signatory" else None

    await client.eventually("the request waits for the buyer's signatory", waits_for_the_buyer)
    await client.buyer_signs(cast, contract)
    await client.wait_status(cast.requester, request_id, "contract_executed")

    executed = await client.contract_for(cast.procurement, request_id, status="executed")
    pdf = await client.executed_pdf(cast, executed["id"])
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert draft["number"] in text
    assert vendor.legal_name in text
    assert "12,749.50 EUR" in text
    signature_page = pypdf.PdfReader(io.BytesIO(pdf)).pages[-1].extract_text()
    assert executed["document_sha256"] in signature_page
    verdict = await client.verify(pdf)
    assert verdict["issued_here"] is True
    assert verdict["signature_valid"] is True
    assert {s["party"] for s in verdict["signers"]} == {"buyer", "vendor"}
    tampered = bytearray(pdf)
    tampered[len(tampered) // 2] ^= 0x01
    assert (await client.verify(bytes(tampered)))["unmodified"] is False

    await client.receive_everything(cast, request_id)
    await client.wait_status(cast.requester, request_id, "received")
    closed = await client.close(cast, request_id)
    assert closed["status"] == "closed"

    timeline = await client.timeline(cast.requester, request_id)
    types = [entry["type"] for entry in timeline]
    for expected in (
        "purchase_request.submitted",
        "approval.task_assigned",
        "purchase_request.approved",
        "vendor.notified",
        "vendor.accepted",
        "contract.generated",
        "contract.executed",
        "purchase_request.receipt_confirmed",
        "purchase_request.closed",
    ):
        assert expected in types, f"{expected} missing from the timeline {types}"
    assert types.index("purchase_request.submitted") < types.index("purchase_request.approved")
    assert types.index("contract.executed") < types.index("purchase_request.closed")

    requester_mail = await client.eventually(
        "the requester heard about the approval and the executed contract",
        lambda: _at_least(client.mail_to(cast.requester.email), 2),
    )
    assert len(requester_mail) >= 2
    approver_mail = await client.mail_to(cast.manager.email)
    assert approver_mail, "the manager was never emailed about the task"

    insight = await client.eventually(
        "insights saw the order closed", lambda: _closed_in_insights(client, platform, cast, request_id)
    )
    stages = {s["stage"]: s["seconds"] for s in insight["stages"]}
    assert set(stages) >= {"approval", "vendor_answer", "contracting", "delivery", "closing", "cycle"}
    assert insight["cycle_seconds"] == stages["cycle"] > 0
    assert abs(sum(v for k, v in stages.items() if k != "cycle") - stages["cycle"]) < 0.01
    assert insight["department"] == cast.department
    assert insight["waiting_kind"] is None
    url = f"{platform.url('insights')}/insights/cycle-times?group_by=department&department={cast.department}"
    rows = (await client.call("GET", url, cast.procurement)).json()["rows"]
    assert {r["stage"]: r["requests"] for r in rows}["cycle"] == 1


async def _closed_in_insights(
    client: Platform, platform: PlatformProcesses, cast: Cast, request_id: str
) -> dict[str, Any] | None:
    url = f"{platform.url('insights')}/insights/requests/{request_id}"
    response = await client.call("GET", url, cast.procurement, expect=(200, 404))
    body: dict[str, Any] = response.json()
    return body if response.status_code == 200 and body["status"] == "closed" else None


async def _received(system: VendorSystem) -> bool:
    return bool(system.received)


async def _signed_by(client: Platform, cast: Cast, request_id: str, party: str) -> bool:
    contract = await client.contract_for(cast.procurement, request_id)
    return any(s["party"] == party for s in contract["signatures"])


async def _at_least(messages_coro, n: int):  # type: ignore[no-untyped-def]
    messages = await messages_coro
    return messages if len(messages) >= n else None


async def test_every_event_a_whole_flow_puts_on_the_topics_matches_the_asyncapi_document(
    platform: PlatformProcesses, client: Platform, cast: Cast
) -> None:
    vendor = await client.create_vendor(cast)
    await walk(client, cast, vendor)
    seen: set[str] = set()
    problems: list[str] = []
    for topic in TOPICS:
        for envelope in await everything_on(platform.prefix + topic):
            seen.add(envelope["type"])
            try:
                validate(topic, envelope)
            except (AssertionError, jsonschema.ValidationError) as exc:
                problems.append(f"{topic} {envelope['type']}: {str(exc).splitlines()[0][:300]}")
    assert problems == [], "\n".join(problems)
    assert {"purchase_request.submitted", "approval.task_assigned", "vendor.updated", "contract.executed"} <= seen


TOPICS = (
    "backoffice.requests",
    "backoffice.approvals",
    "backoffice.notifications",
    "backoffice.vendors",
    "backoffice.contracts",
)


async def everything_on(topic: str) -> list[dict[str, Any]]:
    """Every record of every partition of a topic, up to the end offsets once the partitions are assigned."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"],
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        envelopes: list[dict[str, Any]] = []
        ends: dict[Any, int] | None = None
        for _ in range(60):
            batch = await consumer.getmany(timeout_ms=500)
            envelopes += [json.loads(r.value) for records in batch.values() for r in records]
            assigned = list(consumer.assignment())
            if assigned and ends is None:
                ends = await consumer.end_offsets(assigned)
            if ends is not None and all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                return envelopes
        raise AssertionError(f"could not read {topic} to its end")
    finally:
        await consumer.stop()
