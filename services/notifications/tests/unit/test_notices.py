"""Notices, from the consumed event to the recorded email: who is told when something stops or goes wrong."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from notifications_fakes import FakeUnitOfWork

from backoffice_common.events import new_event
from backoffice_notifications.consumers import HANDLERS
from backoffice_notifications.domain.contracts import Contract
from backoffice_notifications.domain.deliveries import DeliveryError
from backoffice_notifications.domain.orders import ACCEPTED, AWAITING_VENDOR, Order
from backoffice_notifications.domain.vendors import Vendor
from backoffice_notifications.service import deliveries, notices
from backoffice_notifications.settings import Settings

SETTINGS = Settings(environment="development", public_base_url="https://notifications.example")
NOW = datetime.now(UTC)
ALICE = {"id": "alice", "name": "Alice", "email": "alice@corp.example"}


def vendor(*, contacts: int = 2, webhook_url: str | None = None) -> Vendor:
    emails = [f"sales{n}@acme.example" for n in range(contacts)]
    return Vendor(str(uuid.uuid4()), "Acme GmbH", "Hauptstraße 1", emails, "de", webhook_url, "active", NOW, NOW)


async def uow_with(v: Vendor) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.vendors.rows[v.id] = v
    return uow


def awaiting(uow: FakeUnitOfWork, v: Vendor, *, status: str = AWAITING_VENDOR) -> Order:
    request_id = str(uuid.uuid4())
    snap = {"request_id": request_id, "number": "PR-1", "revision": 1, "title": "Laptops", "requester": ALICE}
    order = Order(request_id, 1, v.id, status, snap, sent_to_vendor_id=v.id)
    uow.orders.rows[request_id] = order
    return order


async def handle(uow: FakeUnitOfWork, type_: str, source: str, data: dict[str, Any], subject: str) -> Any:
    event = new_event(type=type_, service=source, subject=subject, data={"schema_version": 1, **data})
    await HANDLERS[type_](event, uow, SETTINGS)
    return event


def mails(uow: FakeUnitOfWork, template: str) -> list[Any]:
    return [d for d in uow.deliveries.rows.values() if d.template == template]


async def test_the_assignee_of_a_withdrawn_task_is_told_they_need_not_decide() -> None:
    v = vendor()
    uow = await uow_with(v)
    order = awaiting(uow, v)
    bob = {"id": "bob", "name": "Bob", "email": "bob@corp.example"}
    data = {"task_id": "t1", "request_id": order.request_id, "assignee": bob, "reason": "request cancelled"}
    await handle(uow, "approval.task_withdrawn", "approvals", data, order.request_id)
    [mail] = mails(uow, "task_withdrawn")
    assert mail.recipient == "bob@corp.example"
    assert "PR-1" in (mail.subject or "")
    assert "request cancelled" in mail.body_text


async def test_a_blocked_chain_is_told_to_the_requester_and_to_procurement() -> None:
    uow = FakeUnitOfWork()
    request_id = str(uuid.uuid4())
    data = {
        "chain_id": "c1",
        "request_id": request_id,
        "revision": 1,
        "reason": "step head: nobody may approve, not even the fallback",
        "requester": ALICE,
        "request_title": "Chairs",
        "request_number": "PR-7",
    }
    await handle(uow, "approval.chain_blocked", "approvals", data, request_id)
    blocked = mails(uow, "chain_blocked")
    assert {m.recipient for m in blocked} == {"alice@corp.example", SETTINGS.procurement_email}
    assert all("nobody may approve" in m.body_text and "PR-7" in (m.subject or "") for m in blocked)


async def test_a_voided_contract_is_told_to_the_requester_and_an_expired_one_to_the_vendor_too() -> None:
    v = vendor(contacts=2)
    uow = await uow_with(v)
    for status in ("voided", "expired"):
        order = awaiting(uow, v, status=ACCEPTED)
        contract = Contract(str(uuid.uuid4()), order.request_id, v.id, "ab" * 32, "https://docs.example/c", None)
        await uow.contracts.add(contract)
        data = {"contract_id": contract.contract_id, "request_id": order.request_id, "reason": "order cancelled"}
        await handle(uow, f"contract.{status}", "contracts", data, order.request_id)
        assert uow.contracts.rows[contract.contract_id].status == status
    [voided] = mails(uow, "contract_voided")
    assert voided.recipient == "alice@corp.example"
    assert "order cancelled" in voided.body_text
    [expired] = mails(uow, "contract_expired")
    assert expired.recipient == "alice@corp.example"
    to_vendor = mails(uow, "contract_expired_vendor")
    assert sorted(m.recipient for m in to_vendor) == sorted(v.contact_emails)
    assert {m.language for m in to_vendor} == {"de"}


async def test_a_delivery_failed_for_good_is_told_to_the_requester_and_procurement_but_never_noticed_twice() -> None:
    v = vendor(contacts=1, webhook_url=None)
    uow = await uow_with(v)
    order = awaiting(uow, v)
    cause = deliveries.Cause("e1", "e1")
    await deliveries.email(
        uow,
        cause=cause,
        template="order_cancelled",
        language="en",
        recipient=v.contact_emails[0],
        context={"vendor_name": v.legal_name, "number": "PR-1", "reason": "x"},
        target=deliveries.Target(order.request_id, vendor_id=v.id),
    )
    [failed] = mails(uow, "order_cancelled")
    uow.track(failed)
    await deliveries.record_outcome(uow, failed, DeliveryError("550 no such user", permanent=True), settings=SETTINGS)
    await notices.delivery_failed(uow, failed, settings=SETTINGS)
    await notices.delivery_failed(uow, failed, settings=SETTINGS)  # the same failure again: nothing new
    notices_sent = mails(uow, notices.DELIVERY_FAILED)
    assert {m.recipient for m in notices_sent} == {"alice@corp.example", SETTINGS.procurement_email}
    assert all("550 no such user" in m.body_text for m in notices_sent)

    notice = notices_sent[0]
    uow.track(notice)
    await deliveries.record_outcome(uow, notice, DeliveryError("mailbox full", permanent=True), settings=SETTINGS)
    await notices.delivery_failed(uow, notice, settings=SETTINGS)
    assert len(mails(uow, notices.DELIVERY_FAILED)) == 2, "a failed notice is not noticed again"


async def test_a_pending_delivery_is_no_failure_to_tell() -> None:
    v = vendor(contacts=1, webhook_url=None)
    uow = await uow_with(v)
    order = awaiting(uow, v)
    await deliveries.staff_email(
        uow,
        cause=deliveries.Cause("e2", "e2"),
        template="task_reminder",
        recipient="bob@corp.example",
        context={"assignee": {"name": "Bob"}, "due_at": "soon", "task_url": "u"},
        request_id=order.request_id,
        settings=SETTINGS,
    )
    [pending] = mails(uow, "task_reminder")
    uow.track(pending)
    await deliveries.record_outcome(uow, pending, DeliveryError("timeout", permanent=False), settings=SETTINGS)
    await notices.delivery_failed(uow, pending, settings=SETTINGS)
    assert mails(uow, notices.DELIVERY_FAILED) == []


async def test_the_cost_centre_owner_is_told_when_a_budget_passes_a_threshold() -> None:
    uow = FakeUnitOfWork()
    owner = {"id": "olga", "name": "Olga", "email": "olga@corp.example"}
    data = {
        "budget_id": "b1",
        "cost_center": "CC-9",
        "cost_center_name": "Research",
        "owner": owner,
        "period": "2026-11",
        "currency": "EUR",
        "threshold_percent": 80,
        "utilisation_percent": "84.5",
        "balances": {},
        "request_id": None,
        "caused_by": "budget.reserved",
    }
    await handle(uow, "budget.threshold_crossed", "budgets", data, "b1")
    [mail] = mails(uow, "budget_threshold")
    assert mail.recipient == "olga@corp.example"
    assert "80 %" in (mail.subject or "")
    assert "84.5 %" in mail.body_text


def signed_event(contract: Contract, party: str, signing_order: str, awaiting: list[str]) -> dict[str, Any]:
    return {
        "contract_id": contract.contract_id,
        "request_id": contract.request_id,
        "party": party,
        "signer": {"id": "x", "name": "X", "email": "x@example.com"},
        "document_sha256": contract.document_sha256,
        "signing_order": signing_order,
        "awaiting": awaiting,
    }


async def generate(uow: FakeUnitOfWork, v: Vendor, signing_order: str) -> Contract:
    order = awaiting(uow, v, status=ACCEPTED)
    contract = Contract(str(uuid.uuid4()), order.request_id, v.id, "ab" * 32, "https://docs.example/c", None)
    data = {
        "contract_id": contract.contract_id,
        "request_id": order.request_id,
        "revision": 1,
        "vendor_id": v.id,
        "document_sha256": contract.document_sha256,
        "document_url": contract.document_url,
        "signing_order": signing_order,
        "language": "en",
    }
    await handle(uow, "contract.generated", "contracts", data, order.request_id)
    return contract


async def test_vendor_first_the_buyer_signatory_is_emailed_only_once_the_vendor_has_signed() -> None:
    v = vendor(contacts=1)
    uow = await uow_with(v)
    contract = await generate(uow, v, "vendor_first")
    assert [m.recipient for m in mails(uow, "contract_ready_vendor")] == v.contact_emails
    assert mails(uow, "contract_ready_buyer") == [], "not the buyer's turn yet"

    await handle(uow, "contract.signed", "contracts", signed_event(contract, "vendor", "vendor_first", ["buyer"]), "s")
    [buyer] = mails(uow, "contract_ready_buyer")
    assert buyer.recipient == SETTINGS.buyer_signatory_email
    assert len(mails(uow, "contract_ready_vendor")) == 1

    await handle(uow, "contract.signed", "contracts", signed_event(contract, "buyer", "vendor_first", []), "s")
    assert len(mails(uow, "contract_ready_buyer")) == 1, "nobody's turn after the last signature"


async def test_buyer_first_the_vendor_gets_its_signing_link_once_the_buyer_has_signed() -> None:
    v = vendor(contacts=1)
    uow = await uow_with(v)
    contract = await generate(uow, v, "buyer_first")
    assert [m.recipient for m in mails(uow, "contract_ready_buyer")] == [SETTINGS.buyer_signatory_email]
    assert mails(uow, "contract_ready_vendor") == []
    assert uow.links.rows == {}

    await handle(uow, "contract.signed", "contracts", signed_event(contract, "buyer", "buyer_first", ["vendor"]), "s")
    [to_vendor] = mails(uow, "contract_ready_vendor")
    assert to_vendor.recipient == v.contact_emails[0]
    [link] = uow.links.rows.values()
    assert (link.purpose, link.contract_id) == ("sign_contract", contract.contract_id)


async def test_in_any_order_both_signers_are_emailed_at_generation_and_not_again() -> None:
    v = vendor(contacts=1)
    uow = await uow_with(v)
    contract = await generate(uow, v, "any")
    await handle(uow, "contract.signed", "contracts", signed_event(contract, "vendor", "any", ["buyer"]), "s")
    assert len(mails(uow, "contract_ready_buyer")) == 1
    assert len(mails(uow, "contract_ready_vendor")) == 1


GERMAN_PLATFORM = Settings(
    environment="development", public_base_url="https://notifications.example", default_language="de"
)


async def test_people_the_directory_does_not_list_are_written_to_in_the_platforms_default_language() -> None:
    v = vendor()
    uow = await uow_with(v)
    order = awaiting(uow, v)
    bob = {"id": "bob", "name": "Bob", "email": "bob@corp.example"}  # no language: not in the directory
    data = {"task_id": "t1", "request_id": order.request_id, "assignee": bob, "reason": "request cancelled"}
    event = new_event(type="approval.task_withdrawn", service="approvals", subject=order.request_id, data=data)
    await HANDLERS["approval.task_withdrawn"](event, uow, GERMAN_PLATFORM)
    [mail] = mails(uow, "task_withdrawn")
    assert mail.language == "de"
    assert "Hallo Bob" in mail.body_text

    uow = await uow_with(v)
    order = awaiting(uow, v, status=ACCEPTED)
    contract = Contract(str(uuid.uuid4()), order.request_id, v.id, "ab" * 32, "https://docs.example/c", None)
    await uow.contracts.add(contract)
    closed = {"contract_id": contract.contract_id, "request_id": order.request_id, "reason": "order cancelled"}
    event = new_event(type="contract.voided", service="contracts", subject=order.request_id, data=closed)
    await HANDLERS["contract.voided"](event, uow, GERMAN_PLATFORM)  # the order's requester has no language
    [voided] = mails(uow, "contract_voided")
    assert voided.language == "de"


async def test_a_person_with_a_language_keeps_it_and_the_mailboxes_follow_the_default_unless_set() -> None:
    uow = FakeUnitOfWork()
    request_id = str(uuid.uuid4())
    data = {
        "chain_id": "c1",
        "request_id": request_id,
        "revision": 1,
        "reason": "step head: nobody may approve",
        "requester": ALICE | {"language": "en-GB"},
        "request_title": "Chairs",
        "request_number": "PR-7",
    }
    event = new_event(type="approval.chain_blocked", service="approvals", subject=request_id, data=data)
    await HANDLERS["approval.chain_blocked"](event, uow, GERMAN_PLATFORM)
    by_recipient = {m.recipient: m.language for m in mails(uow, "chain_blocked")}
    assert by_recipient == {"alice@corp.example": "en", GERMAN_PLATFORM.procurement_email: "de"}

    english_procurement = Settings(environment="development", default_language="de", procurement_language="en")
    assert (english_procurement.procurement_language, english_procurement.buyer_signatory_language) == ("en", "de")
    assert (SETTINGS.procurement_language, SETTINGS.buyer_signatory_language) == ("en", "en")


async def test_a_checklist_item_event_without_a_language_is_written_in_the_platforms_default_language() -> None:
    data = {
        "checklist_id": "cl-1",
        "kind": "onboarding",
        "employee": {"id": "e-1", "name": "Erik"},
        "item": {"key": "laptop", "title": "Laptop", "assignee_group": "it", "due_on": "2027-01-15"},
    }
    for language, expected in ((None, "de"), ("en", "en")):
        uow = FakeUnitOfWork()
        body = data if language is None else data | {"language": language}
        event = new_event(type="checklist.item_ready", service="checklists", subject="cl-1", data=body)
        await HANDLERS["checklist.item_ready"](event, uow, GERMAN_PLATFORM)
        [mail] = mails(uow, "checklist_item_ready")
        assert (mail.recipient, mail.language) == (GERMAN_PLATFORM.checklist_group_emails["it"], expected)
