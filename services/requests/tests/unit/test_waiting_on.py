"""Who an open request waits for, read from its status and its timeline (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from backoffice_requests.domain.lifecycle import Status
from backoffice_requests.domain.waiting import READS, waiting_on

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


def test_the_entries_reads_names_for_a_status_give_the_same_answer_as_the_whole_timeline() -> None:
    """``READS``: a reader hands ``waiting_on`` only the entries of the types it reads in the status, with the whole
    timeline's last time (``repository.reads.request_view``); every status, after every prefix of a timeline that
    holds every type it reads (and others), answers as the whole timeline does."""
    due = (T0 + timedelta(days=2)).isoformat()
    timeline = [
        entry(0, "purchase_request.submitted", revision=1),
        entry(1, "approval.task_assigned", task_id="t1", step="manager", assignee=BOB, due_at=due),
        entry(2, "approval.reminder_due", task_id="t1"),
        entry(3, "approval.escalated", task_id="t1", to={"id": "erin", "name": "Erin"}, reason="late"),
        entry(3, "approval.task_assigned", task_id="t2", step="manager", assignee={"id": "erin", "name": "Erin"}),
        entry(4, "approval.task_withdrawn", task_id="t2"),
        entry(5, "approval.chain_blocked", reason="step head: nobody may approve"),
        entry(6, "approval.task_assigned", task_id="t3", step="head", assignee={"id": "dave", "name": "Dave"}),
        entry(7, "approval.task_decided", task_id="t3", decision="approved"),
        entry(8, "purchase_request.approved", revision=1),
        entry(9, "approval.task_decided", task_id="t4", decision="approved"),
        entry(9, "notification.failed", template="order", recipient="v@example.com", error="refused"),
        entry(10, "vendor.notified", vendor_id="v1"),
        entry(11, "notification.failed", template="reminder", recipient="v@example.com", error="timeout"),
        entry(12, "vendor.accepted", vendor_id="v1"),
        entry(13, "approval.reminder_due", task_id="t3"),
        entry(14, "contract.generated", vendor_id="v1", signing_order="buyer_first", expires_at=due),
        entry(15, "contract.signed", party="buyer", awaiting=["vendor"]),
        entry(16, "vendor.contract_signed", vendor_id="v1"),
        entry(17, "contract.signed", party="vendor", awaiting=[]),
        entry(18, "contract.executed", vendor_id="v1"),
        entry(19, "purchase_request.received", lines=[]),
    ]
    statuses = [s.value for s in Status]
    assert set(READS) <= set(statuses)
    compared = 0
    for end in range(len(timeline) + 1):
        whole = timeline[:end]
        for status in statuses:
            read = [e for e in whole if e["event_type"] in READS.get(status, ())]
            latest = whole[-1]["occurred_at"] if whole else None
            expected = waiting_on(status=status, requester=ALICE, vendor_id="v1", updated_at=T0, entries=whole)
            found = waiting_on(
                status=status, requester=ALICE, vendor_id="v1", updated_at=T0, entries=read, latest=latest
            )
            assert found == expected, (status, end)
            compared += 1
    assert compared == (len(timeline) + 1) * len(statuses)
