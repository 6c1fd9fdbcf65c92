"""Use cases against a fake unit of work (no database, broker or SMTP): what they record, publish and commit."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from notifications_fakes import FakeUnitOfWork

from backoffice_common.events import new_event
from backoffice_notifications.domain.contracts import Contract, Signer
from backoffice_notifications.domain.deliveries import DeliveryError
from backoffice_notifications.domain.errors import ResponseRefused, WebhookReplayed
from backoffice_notifications.domain.orders import ACCEPTED, AWAITING_VENDOR, CANCELLED, DECLINED, Answer, Order
from backoffice_notifications.domain.vendors import Vendor
from backoffice_notifications.domain.webhook_signature import SignatureError, parse_headers, sign
from backoffice_notifications.service import contracts, deliveries, orders, secrets, webhook
from backoffice_notifications.service.deliveries import Cause
from backoffice_notifications.service.responses import ContractSignature, OrderAnswer
from backoffice_notifications.settings import Settings

SETTINGS = Settings(environment="development", public_base_url="https://notifications.example")
NOW = datetime.now(UTC)


def vendor(
    *, contacts: int = 2, webhook_url: str | None = "https://vendor.example/hook", status: str = "active"
) -> Vendor:
    return Vendor(
        id=str(uuid.uuid4()),
        legal_name="Acme GmbH",
        address="Hauptstraße 1",
        contact_emails=[f"sales{n}@acme.example" for n in range(contacts)],
        language="de",
        webhook_url=webhook_url,
        status=status,
        created_at=NOW,
        updated_at=NOW,
    )


def snapshot(vendor_id: str, *, revision: int = 1) -> dict[str, Any]:
    request_id = str(uuid.uuid4())
    return {
        "request_id": request_id,
        "number": "PR-1",
        "revision": revision,
        "title": "Laptops",
        "requester": {"id": "alice", "name": "Alice", "email": "alice@corp.example"},
        "vendor_id": vendor_id,
        "currency": "EUR",
        "lines": [],
        "total": "10.00",
        "needed_by": "2027-01-15",
    }


def approved_event(snap: dict[str, Any]) -> Any:
    return new_event(type="purchase_request.approved", service="approvals", subject=snap["request_id"], data={})


async def uow_with(*vendors: Vendor) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    for v in vendors:
        uow.vendors.rows[v.id] = v
    return uow


def awaiting(uow: FakeUnitOfWork, v: Vendor, *, status: str = AWAITING_VENDOR) -> Order:
    snap = snapshot(v.id)
    order = Order(snap["request_id"], 1, v.id, status, snap, sent_to_vendor_id=v.id)
    uow.orders.rows[order.request_id] = order
    return order


async def signed_webhook(uow: FakeUnitOfWork, v: Vendor, payload: dict[str, Any], msg_id: str = "msg_1") -> None:
    rotated = await secrets.rotate(uow, vendor_id=v.id, settings=SETTINGS)
    body = json.dumps(payload).encode()
    ts = int(time.time())
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts)}
    token = rotated.retrieval_url.rsplit("/vendor-secrets/", 1)[1]
    _, secret = await secrets.retrieve(uow, settings=SETTINGS, token=token)  # as the vendor does, from the link
    uow.committed = False  # the retrieval's own commit: the tests look at what the webhook commits
    headers["webhook-signature"] = sign(secret=secret, msg_id=msg_id, timestamp=ts, body=body)
    await webhook.authenticate(uow, settings=SETTINGS, vendor_id=v.id, headers=parse_headers(headers), body=body)


async def test_the_approved_order_goes_to_every_vendor_contact_and_to_the_vendor_webhook_once() -> None:
    v = vendor(contacts=3)
    uow = await uow_with(v)
    snap = snapshot(v.id)
    cause = approved_event(snap)

    await orders.approved(uow, cause=Cause.of(cause), snapshot=snap, settings=SETTINGS)
    await orders.approved(uow, cause=Cause.of(cause), snapshot=snap, settings=SETTINGS)  # the event, redelivered

    sent = list(uow.deliveries.rows.values())
    to_vendor = [d for d in sent if d.template == "purchase_order"]
    assert sorted(d.recipient for d in to_vendor if d.channel == "email") == sorted(v.contact_emails)
    assert [d.recipient for d in to_vendor if d.channel == "webhook"] == [v.webhook_url]
    assert all(d.notifies_vendor and d.revision == 1 and d.event_id == cause.id for d in to_vendor)
    assert {d.language for d in to_vendor if d.channel == "email"} == {"de"}
    hook = next(d for d in to_vendor if d.channel == "webhook")
    assert hook.payload is not None
    assert hook.payload["type"] == "purchase_order.approved"
    assert hook.payload["respond_url"].startswith("https://notifications.example/vendor-links/")
    assert [d.recipient for d in sent if d.template == "request_approved"] == ["alice@corp.example"]
    assert uow.orders.rows[snap["request_id"]].sent_to_vendor_id == v.id
    assert len(uow.links.rows) == 2, "a link per handling; the redelivered event's deliveries were not recorded again"
    assert not uow.committed, "the shared consumer commits"


async def test_an_order_for_a_blocked_vendor_publishes_notification_failed_and_sends_nothing() -> None:
    v = vendor(status="blocked")
    uow = await uow_with(v)
    snap = snapshot(v.id)
    cause = approved_event(snap)

    await orders.approved(uow, cause=Cause.of(cause), snapshot=snap, settings=SETTINGS)
    await uow.commit()

    assert [d.template for d in uow.deliveries.rows.values()] == ["request_approved"]
    [failed] = uow.of_type("notification.failed")
    assert failed.data["error"] == "the vendor is blocked"
    assert failed.data["delivery_id"] is None
    assert failed.causationid == cause.id
    assert failed.correlationid == cause.correlationid


@pytest.mark.parametrize("accept", [True, False])
async def test_the_vendor_answers_the_order_through_the_webhook(accept: bool) -> None:
    v = vendor()
    uow = await uow_with(v)
    order = awaiting(uow, v)
    action = {"action": "accept"} if accept else {"action": "decline", "reason": "Out of stock"}
    await signed_webhook(uow, v, {"vendor_id": v.id, "request_id": order.request_id, **action})
    answer = (
        Answer(accept=True, expected_delivery=NOW.date()) if accept else Answer(accept=False, reason="Out of stock")
    )

    event = await webhook.answer(uow, vendor_id=v.id, command=OrderAnswer(order.request_id, answer), settings=SETTINGS)

    assert uow.committed
    [published] = uow.published
    assert published.id == event.id
    assert published.type == ("vendor.accepted" if accept else "vendor.declined")
    assert published.data["actor"] == {"id": f"vendor:{v.id}", "name": "Acme GmbH", "role": "vendor"}
    assert order.status == (ACCEPTED if accept else DECLINED)
    [mail] = uow.deliveries.rows.values()
    assert mail.recipient == "alice@corp.example"
    assert mail.event_id == event.id, "the requester's email is caused by the vendor's answer"
    if accept:
        assert published.data["vendor"]["vendor_id"] == v.id
        assert published.data["expected_delivery"] == NOW.date().isoformat()
    else:
        assert published.data["reason"] == "Out of stock"


@pytest.mark.parametrize("status", [ACCEPTED, DECLINED, CANCELLED])
async def test_the_vendor_cannot_answer_an_order_already_answered_or_cancelled(status: str) -> None:
    v = vendor()
    uow = await uow_with(v)
    order = awaiting(uow, v, status=status)

    with pytest.raises(ResponseRefused, match="does not wait"):
        await webhook.answer(
            uow, vendor_id=v.id, command=OrderAnswer(order.request_id, Answer(accept=True)), settings=SETTINGS
        )

    assert not uow.committed
    assert uow.published == []
    assert order.status == status
    assert uow.deliveries.rows == {}


async def test_another_vendor_cannot_answer_and_a_replayed_or_forged_webhook_is_refused() -> None:
    v, other = vendor(), vendor()
    uow = await uow_with(v, other)
    order = awaiting(uow, v)
    with pytest.raises(ResponseRefused, match="not sent to this vendor"):
        await webhook.answer(
            uow, vendor_id=other.id, command=OrderAnswer(order.request_id, Answer(accept=True)), settings=SETTINGS
        )
    await signed_webhook(uow, v, {"vendor_id": v.id}, msg_id="msg_same")
    with pytest.raises(WebhookReplayed):
        await signed_webhook(uow, v, {"vendor_id": v.id}, msg_id="msg_same")
    forged = {"webhook-id": "msg_x", "webhook-timestamp": str(int(time.time())), "webhook-signature": "v1,AAAA"}
    with pytest.raises(SignatureError):
        await webhook.authenticate(uow, settings=SETTINGS, vendor_id=v.id, headers=parse_headers(forged), body=b"{}")
    assert not uow.committed


def contract_for(
    uow: FakeUnitOfWork, v: Vendor, order: Order, *, expires_in: timedelta = timedelta(days=1)
) -> Contract:
    contract = Contract(
        str(uuid.uuid4()), order.request_id, v.id, "ab" * 32, "https://docs.example/c", NOW + expires_in
    )
    uow.contracts.rows[contract.contract_id] = contract
    return contract


SIGNER = Signer("Vera Vendor", "vera@acme.example", "203.0.113.9", "browser/1")


async def test_the_vendor_signing_the_contract_is_recorded_and_published() -> None:
    v = vendor()
    uow = await uow_with(v)
    contract = contract_for(uow, v, awaiting(uow, v, status=ACCEPTED))

    await webhook.answer(
        uow, vendor_id=v.id, command=ContractSignature(contract.contract_id, "AB" * 32, SIGNER), settings=SETTINGS
    )

    assert uow.committed
    assert contract.status == "signed"
    assert contract.signed_at is not None
    [signed] = uow.of_type("vendor.contract_signed")
    assert signed.subject == contract.request_id
    assert signed.data["signer_name"] == "Vera Vendor"
    assert signed.data["client_ip"] == "203.0.113.9"
    assert signed.data["channel"] == "webhook"
    assert signed.data["document_sha256"] == "ab" * 32


@pytest.mark.parametrize(
    ("sha", "order_status", "expires_in", "refusal"),
    [
        ("cd" * 32, ACCEPTED, timedelta(days=1), "does not match"),
        ("ab" * 32, CANCELLED, timedelta(days=1), "cancelled"),
        ("ab" * 32, ACCEPTED, timedelta(seconds=-1), "signing period"),
    ],
)
async def test_a_signature_on_another_document_after_cancellation_or_too_late_is_refused(
    sha: str, order_status: str, expires_in: timedelta, refusal: str
) -> None:
    v = vendor()
    uow = await uow_with(v)
    contract = contract_for(uow, v, awaiting(uow, v, status=order_status), expires_in=expires_in)

    with pytest.raises(ResponseRefused, match=refusal):
        await webhook.answer(
            uow, vendor_id=v.id, command=ContractSignature(contract.contract_id, sha, SIGNER), settings=SETTINGS
        )

    assert not uow.committed
    assert contract.status == "awaiting_signature"
    assert uow.published == []


async def test_vendor_notified_is_published_once_per_revision_and_a_last_failure_publishes_notification_failed() -> (
    None
):
    v = vendor(contacts=2)
    uow = await uow_with(v)
    snap = snapshot(v.id)
    await orders.approved(uow, cause=Cause.of(approved_event(snap)), snapshot=snap, settings=SETTINGS)
    first, second, hook = [d for d in uow.deliveries.rows.values() if d.template == "purchase_order"]

    for sent in (first, second):
        uow.track(sent)
        await deliveries.record_outcome(uow, sent, None, settings=SETTINGS)
    uow.track(hook)
    await deliveries.record_outcome(uow, hook, DeliveryError("webhook answered 410", permanent=True), settings=SETTINGS)
    await uow.commit()

    [notified] = uow.of_type("vendor.notified")
    assert notified.data["channel"] == first.channel
    assert notified.causationid == first.event_id
    [failed] = uow.of_type("notification.failed")
    assert failed.data["delivery_id"] == hook.id
    assert failed.data["attempts"] == 1
    assert (first.status, second.status, hook.status) == ("sent", "sent", "failed")


async def test_a_generated_contract_goes_to_the_vendor_with_a_signing_link_and_to_the_buyer_and_the_requester() -> None:
    v = vendor(contacts=2)
    uow = await uow_with(v)
    order = awaiting(uow, v, status=ACCEPTED)
    contract = Contract(str(uuid.uuid4()), order.request_id, v.id, "ab" * 32, "https://docs.example/c", None)
    cause = new_event(type="contract.generated", service="contracts", subject=order.request_id, data={})

    await contracts.generated(
        uow, cause=Cause.of(cause), contract=contract, revision=1, language="en", settings=SETTINGS
    )

    sent = list(uow.deliveries.rows.values())
    vendor_mails = [d for d in sent if d.template == "contract_ready_vendor"]
    assert sorted(d.recipient for d in vendor_mails) == sorted(v.contact_emails)
    assert {d.language for d in vendor_mails} == {"en"}, "the contract's language wins over the vendor's"
    [hook] = [d for d in sent if d.channel == "webhook"]
    assert hook.template == "contract_ready"
    assert hook.payload is not None
    assert {k: hook.payload[k] for k in ("type", "vendor_id", "request_id", "contract_id", "number")} == {
        "type": "contract.ready_to_sign",
        "vendor_id": v.id,
        "request_id": order.request_id,
        "contract_id": contract.contract_id,
        "number": "PR-1",
    }
    [link] = uow.links.rows.values()
    assert f"/vendor-links/{link.id}." in hook.payload["sign_url"]
    assert link.purpose == "sign_contract"
    assert link.contract_id == contract.contract_id
    assert {d.recipient for d in sent if d.template == "contract_ready_buyer"} == {SETTINGS.buyer_signatory_email}
    assert {d.recipient for d in sent if d.template == "contract_ready_requester"} == {"alice@corp.example"}
    assert uow.contracts.rows[contract.contract_id] is contract


async def test_blocking_a_vendor_withdraws_its_unused_links_and_its_secret_retrieval_link() -> None:
    from backoffice_common.auth import User
    from backoffice_notifications.domain.links import LinkRevoked
    from backoffice_notifications.service import links, vendors

    v, other = vendor(), vendor()
    uow = await uow_with(v, other)
    order = await links.create_link(
        uow, settings=SETTINGS, purpose="respond_order", request_id=str(uuid.uuid4()), revision=1, vendor_id=v.id
    )
    used = await links.create_link(
        uow, settings=SETTINGS, purpose="respond_order", request_id=str(uuid.uuid4()), revision=1, vendor_id=v.id
    )
    theirs = await links.create_link(
        uow, settings=SETTINGS, purpose="respond_order", request_id=str(uuid.uuid4()), revision=1, vendor_id=other.id
    )
    rotated = await secrets.rotate(uow, vendor_id=v.id, settings=SETTINGS)
    used_link = await links.open_link(uow, settings=SETTINGS, token=used.url.rsplit("/", 1)[1])
    used_link.use(now=datetime.now(UTC))

    pat = User(sub="pat", name="Pat", roles=frozenset({"procurement"}))
    await vendors.update(uow, vendor_id=v.id, changes={"status": "blocked"}, user=pat, settings=SETTINGS)

    with pytest.raises(LinkRevoked, match="withdrawn"):
        await links.open_link(uow, settings=SETTINGS, token=order.url.rsplit("/", 1)[1])
    with pytest.raises(LinkRevoked, match="withdrawn"):
        await secrets.open_retrieval(uow, settings=SETTINGS, token=rotated.retrieval_url.rsplit("/", 1)[1])
    # A used link stays what it was (used); another vendor's links are untouched.
    assert (await links.open_link(uow, settings=SETTINGS, token=used.url.rsplit("/", 1)[1])).used_at is not None
    assert (await links.open_link(uow, settings=SETTINGS, token=theirs.url.rsplit("/", 1)[1])).revoked_at is None
    [fact] = [e for e in uow._facts if e.type == "vendor.links_withdrawn"]  # recorded for the audit log
    assert fact.data["links_withdrawn"] == 1
    assert fact.data["blocked_by"]["id"] == "pat"


@pytest.mark.parametrize(
    ("signing_order", "templates"),
    [
        ("any", {"contract_ready_vendor", "contract_ready_buyer", "contract_ready_requester"}),
        ("vendor_first", {"contract_ready_vendor", "contract_ready_requester"}),
        ("buyer_first", {"contract_ready_buyer", "contract_ready_requester"}),
    ],
)
async def test_a_generated_contract_reads_its_order_once_for_all_its_emails(signing_order, templates) -> None:  # type: ignore[no-untyped-def]
    v = vendor()
    uow = await uow_with(v)
    order = awaiting(uow, v, status=ACCEPTED)
    contract = Contract(str(uuid.uuid4()), order.request_id, v.id, "ab" * 32, "https://docs.example/c", None)
    cause = new_event(type="contract.generated", service="contracts", subject=order.request_id, data={})
    reads: list[str] = []
    get = uow.orders.get

    async def counted(request_id: str, *, lock: bool = False) -> Order | None:
        reads.append(request_id)
        return await get(request_id, lock=lock)

    uow.orders.get = counted  # type: ignore[method-assign]
    await contracts.generated(
        uow,
        cause=Cause.of(cause),
        contract=contract,
        revision=1,
        language="en",
        signing_order=signing_order,
        settings=SETTINGS,
    )
    assert reads == [order.request_id]  # once (three times before the ninth round)
    sent = [d for d in uow.deliveries.rows.values() if d.channel == "email"]
    assert {d.template for d in sent} == templates
    assert all("PR-1" in (d.subject or "") + (d.body_text or "") for d in sent), [d.subject for d in sent]

    # The other party's turn after the first signature of an ordered signing reads the order once too.
    reads.clear()
    party = "vendor" if signing_order == "vendor_first" else "buyer"
    await contracts.signed(
        uow,
        cause=Cause.of(new_event(type="contract.signed", service="contracts", subject=order.request_id, data={})),
        contract_id=contract.contract_id,
        party=party,
        signing_order=signing_order,
        awaiting=["buyer" if party == "vendor" else "vendor"],
        settings=SETTINGS,
    )
    assert reads == ([] if signing_order == "any" else [order.request_id])
    now_sent = {d.template for d in uow.deliveries.rows.values() if d.channel == "email"}
    if signing_order == "vendor_first":
        assert "contract_ready_buyer" in now_sent
    if signing_order == "buyer_first":
        assert "contract_ready_vendor" in now_sent


@pytest.mark.parametrize("action", ["accept", "sign_contract", "blocked"])
async def test_the_webhooks_answer_uses_the_vendor_its_authentication_read(action: str) -> None:
    v = vendor()
    uow = await uow_with(v)
    order = awaiting(uow, v, status=ACCEPTED if action == "sign_contract" else AWAITING_VENDOR)
    contract = contract_for(uow, v, order) if action == "sign_contract" else None
    rotated = await secrets.rotate(uow, vendor_id=v.id, settings=SETTINGS)
    _, secret = await secrets.retrieve(
        uow, settings=SETTINGS, token=rotated.retrieval_url.rsplit("/vendor-secrets/", 1)[1]
    )
    body, ts = b"{}", int(time.time())
    headers = {"webhook-id": "msg_9", "webhook-timestamp": str(ts)}
    headers["webhook-signature"] = sign(secret=secret, msg_id="msg_9", timestamp=ts, body=body)
    reads: list[str | None] = []
    get = uow.vendors.get

    async def counted(vendor_id: str | None, *, lock: bool = False) -> Vendor | None:
        reads.append(vendor_id)
        return await get(vendor_id, lock=lock)

    uow.vendors.get = counted  # type: ignore[method-assign]
    known = await webhook.authenticate(
        uow, settings=SETTINGS, vendor_id=v.id, headers=parse_headers(headers), body=body
    )
    assert known is v
    command: OrderAnswer | ContractSignature = (
        ContractSignature(contract.contract_id, "ab" * 32, SIGNER)
        if contract is not None
        else OrderAnswer(order.request_id, Answer(accept=True))
    )
    if action == "blocked":  # what the answer decides on is the vendor as read: blocked, refused
        v.status = "blocked"
        with pytest.raises(ResponseRefused, match="blocked"):
            await webhook.answer(uow, vendor_id=v.id, command=command, settings=SETTINGS, vendor=known)
        assert reads == [v.id]
        return
    event = await webhook.answer(uow, vendor_id=v.id, command=command, settings=SETTINGS, vendor=known)
    assert reads == [v.id]  # once: the answer does not read it again (twice before the ninth round)
    assert event.type == ("vendor.contract_signed" if contract is not None else "vendor.accepted")
    assert uow.committed
    # Another vendor's id than the one read: that one is read (no mix-up).
    reads.clear()
    other = vendor()
    uow.vendors.rows[other.id] = other
    second = awaiting(uow, other)
    await webhook.answer(
        uow,
        vendor_id=other.id,
        command=OrderAnswer(second.request_id, Answer(accept=True)),
        settings=SETTINGS,
        vendor=known,
    )
    assert reads == [other.id]
