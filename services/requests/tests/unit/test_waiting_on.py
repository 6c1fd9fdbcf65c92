"""Who an open request waits for, read from its status and its timeline (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from backoffice_requests.domain.waiting import waiting_on

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ALICE = {"id": "alice", "name": "Alice"}
BOB = {"id": "bob", "name": "Bob", "email": "bob@example.com"}


def entry(minutes: int, type_: str, **data: Any) -> dict[str, Any]:
    return {"event_type": type_, "data": data, "occurred_at": T0 + timedelta(minutes=minutes)}


def waits(status: str, *entries: dict[str, Any]) -> dict[str, Any] | None:
    found = waiting_on(status=status, requester=ALICE, vendor_id="v1", updated_at=T0, entries=list(entries))
    return found.as_dict() if found else None


def test_a_draft_and_a_request_sent_back_wait_for_the_requester() -> None:
    assert waits("draft") == {
        "who": {**ALICE, "role": "requester"},
        "what": "complete and submit the draft",
        "since": T0,
        "due": None,
    }
    back = waits("changes_requested", entry(5, "purchase_request.changes_requested", comment="cheaper"))
    assert back is not None
    assert (back["who"]["id"], back["since"]) == ("alice", T0 + timedelta(minutes=5))


def test_a_submitted_request_waits_for_the_assignee_of_the_open_task_until_its_due_date() -> None:
    due = (T0 + timedelta(days=2)).isoformat()
    w = waits(
        "submitted",
        entry(1, "approval.task_assigned", task_id="t1", step="manager", assignee=BOB, due_at=due),
    )
    assert w == {
        "who": {"id": "bob", "name": "Bob", "role": "approver"},
        "what": "approve or reject (step manager)",
        "since": T0 + timedelta(minutes=1),
        "due": T0 + timedelta(days=2),
    }
    decided = waits(
        "submitted",
        entry(1, "approval.task_assigned", task_id="t1", step="manager", assignee=BOB, due_at=due),
        entry(2, "approval.task_decided", task_id="t1", decision="approved"),
        entry(2, "approval.task_assigned", task_id="t2", step="head", assignee={"id": "dave", "name": "Dave"}),
    )
    assert decided is not None
    assert (decided["who"]["id"], decided["what"]) == ("dave", "approve or reject (step head)")


def test_a_blocked_chain_waits_for_procurement_with_the_reason() -> None:
    w = waits("submitted", entry(1, "approval.chain_blocked", reason="step head: nobody may approve"))
    assert w is not None
    assert w["who"]["role"] == "procurement"
    assert "nobody may approve" in w["what"]


def test_a_notified_order_waits_for_the_vendor_or_for_procurement_when_its_delivery_failed() -> None:
    w = waits("vendor_notified", entry(1, "purchase_request.approved"), entry(2, "vendor.notified", channel="email"))
    assert w is not None
    assert (w["who"]["id"], w["what"], w["since"]) == (
        "vendor:v1",
        "accept or decline the order",
        T0 + timedelta(minutes=2),
    )
    failed = waits(
        "approved",
        entry(1, "purchase_request.approved"),
        entry(9, "notification.failed", template="purchase_order", recipient="x@v.example", error="550 unknown"),
    )
    assert failed is not None
    assert failed["who"]["role"] == "procurement"
    assert "550 unknown" in failed["what"]


def test_a_contract_waits_for_whoever_must_sign_next_until_it_expires() -> None:
    expires = (T0 + timedelta(days=14)).isoformat()
    generated = entry(3, "contract.generated", signing_order="vendor_first", expires_at=expires)
    vendor_turn = waits("contract_pending", entry(1, "vendor.accepted"), generated)
    assert vendor_turn is not None
    assert (vendor_turn["who"]["role"], vendor_turn["what"]) == ("vendor", "sign the contract")
    assert vendor_turn["due"] == T0 + timedelta(days=14)
    buyer_turn = waits(
        "contract_pending",
        entry(1, "vendor.accepted"),
        generated,
        entry(4, "contract.signed", party="vendor", awaiting=["buyer"]),
    )
    assert buyer_turn is not None
    assert (buyer_turn["who"]["role"], buyer_turn["since"]) == ("buyer_signatory", T0 + timedelta(minutes=4))


def test_after_the_contract_the_requester_confirms_receipt_and_closes_and_a_closed_request_waits_for_nobody() -> None:
    executed = waits("contract_executed", entry(5, "contract.executed"))
    assert executed is not None
    assert executed["what"] == "confirm receipt as the goods or services arrive"
    received = waits("received", entry(6, "purchase_request.receipt_confirmed"))
    assert received is not None
    assert received["what"] == "close the order"
    for status in ("closed", "cancelled", "rejected"):
        assert waits(status) is None
