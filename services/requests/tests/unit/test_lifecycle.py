"""Every allowed and every forbidden transition of the order's state machine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from backoffice_requests.domain.content import LineInput, make_content
from backoffice_requests.domain.errors import DomainError, EventMismatch, IllegalTransition
from backoffice_requests.domain.lifecycle import CANCELLABLE, TERMINAL, TRANSITIONS, USER_ACTIONS, Action, Status, steps
from backoffice_requests.domain.model import Actor, Person, PurchaseRequest

TODAY = date(2026, 11, 27)
ALICE = Actor("alice", "Alice", "requester")


def new_request(status: Status = Status.DRAFT) -> PurchaseRequest:
    content = make_content(
        title="Laptops",
        description="",
        vendor_id="v-1",
        currency="EUR",
        cost_center="CC-1",
        department="ENG",
        category="hardware",
        needed_by=date(2027, 1, 15),
        lines=[
            LineInput("Laptop", Decimal(2), "pcs", Decimal("1200.00")),
            LineInput("Dock", Decimal(1), "pcs", Decimal("99.90")),
        ],
        today=TODAY,
    )
    request = PurchaseRequest.draft(
        id="r-1", number="PR-000001", requester=Person("alice", "Alice", "a@x"), content=content, actor=ALICE
    )
    request.status = status
    request.events.clear()
    return request


def perform(request: PurchaseRequest, action: Action, *, vendor: str = "v-2") -> Any:
    """Run ``action`` with arguments that would be valid if the state allowed it."""
    match action:
        case Action.EDIT:
            return request.update_draft({"title": "More laptops"}, today=TODAY, actor=ALICE)
        case Action.SUBMIT:
            return request.submit(today=TODAY, actor=ALICE, submitted_at="2026-11-27T00:00:00Z")
        case Action.CANCEL:
            return request.cancel(reason="no budget", actor=ALICE)
        case Action.REVISE:
            return request.revise({"title": "Fewer laptops"}, today=TODAY, actor=ALICE, submitted_at="now")
        case Action.REASSIGN_VENDOR:
            return request.reassign_vendor(
                vendor_id=vendor if vendor != request.content.vendor_id else vendor + "x",
                reason="declined",
                actor=ALICE,
            )
        case Action.RECEIVE:
            return request.confirm_receipt({1: Decimal(1)}, actor=ALICE)
        case Action.CLOSE:
            return request.close(short=False, reason="", actor=ALICE)
        case Action.CLOSE_SHORT:
            return request.close(short=True, reason="rest not needed", actor=ALICE)
        case _:
            return request.apply(action)


ALL_PAIRS = [(s, a) for s in Status for a in Action]


def reachable(status: Status, action: Action) -> set[Status]:
    """Where ``action`` may lead from ``status``, walking an implied step first where there is one."""
    try:
        path = steps(status, action)
    except IllegalTransition:
        return set()
    here = {status}
    for step in path:
        here = {t for s in here for t in TRANSITIONS[s][step]}
    return here


@pytest.mark.parametrize(("status", "action"), ALL_PAIRS, ids=[f"{s}-{a}" for s, a in ALL_PAIRS])
def test_every_action_in_every_state_moves_only_along_the_diagram(status: Status, action: Action) -> None:
    request = new_request(status)
    allowed = reachable(status, action)
    if allowed:
        perform(request, action)
        assert request.status in allowed
        assert request.version > 1
    else:
        before = (request.status, request.revision, request.content, request.version)
        with pytest.raises(IllegalTransition) as refused:
            perform(request, action)
        assert refused.value.current_state == status.value
        assert refused.value.allowed_actions == sorted(a.value for a in TRANSITIONS[status] if a in USER_ACTIONS)
        assert (request.status, request.revision, request.content, request.version) == before
        assert request.events == []


def test_the_diagram_is_the_one_of_the_issue() -> None:
    expected = {
        (Status.DRAFT, Action.SUBMIT): {Status.SUBMITTED},
        (Status.SUBMITTED, Action.APPROVE): {Status.APPROVED},
        (Status.SUBMITTED, Action.REJECT): {Status.REJECTED},
        (Status.SUBMITTED, Action.REQUEST_CHANGES): {Status.CHANGES_REQUESTED},
        (Status.CHANGES_REQUESTED, Action.REVISE): {Status.SUBMITTED},
        (Status.APPROVED, Action.NOTIFY_VENDOR): {Status.VENDOR_NOTIFIED},
        (Status.VENDOR_NOTIFIED, Action.VENDOR_ACCEPT): {Status.VENDOR_ACCEPTED},
        (Status.VENDOR_NOTIFIED, Action.VENDOR_DECLINE): {Status.VENDOR_DECLINED},
        (Status.VENDOR_DECLINED, Action.REASSIGN_VENDOR): {Status.APPROVED},
        (Status.VENDOR_ACCEPTED, Action.GENERATE_CONTRACT): {Status.CONTRACT_PENDING},
        (Status.CONTRACT_PENDING, Action.EXECUTE_CONTRACT): {Status.CONTRACT_EXECUTED},
        (Status.CONTRACT_EXECUTED, Action.RECEIVE): {Status.PARTIALLY_RECEIVED, Status.RECEIVED},
        (Status.CONTRACT_EXECUTED, Action.CLOSE_SHORT): {Status.CLOSED},
        (Status.PARTIALLY_RECEIVED, Action.RECEIVE): {Status.PARTIALLY_RECEIVED, Status.RECEIVED},
        (Status.PARTIALLY_RECEIVED, Action.CLOSE_SHORT): {Status.CLOSED},
        (Status.RECEIVED, Action.CLOSE): {Status.CLOSED},
        (Status.DRAFT, Action.EDIT): {Status.DRAFT},
    }
    expected |= {(s, Action.CANCEL): {Status.CANCELLED} for s in CANCELLABLE}
    actual = {(s, a): set(t) for s, actions in TRANSITIONS.items() for a, t in actions.items()}
    assert actual == expected
    assert Status.CONTRACT_EXECUTED not in CANCELLABLE
    assert {Status.REJECTED, Status.CLOSED, Status.CANCELLED} == TERMINAL


def test_only_a_vendors_answer_may_imply_the_notification_before_it() -> None:
    implied = {(s, a) for s, a in ALL_PAIRS if a not in TRANSITIONS[s] and reachable(s, a)}
    assert implied == {(Status.APPROVED, Action.VENDOR_ACCEPT), (Status.APPROVED, Action.VENDOR_DECLINE)}
    request = new_request(Status.APPROVED)
    assert request.apply(Action.VENDOR_ACCEPT, vendor_id="v-1") == [Action.NOTIFY_VENDOR, Action.VENDOR_ACCEPT]
    assert request.status is Status.VENDOR_ACCEPTED
    with pytest.raises(EventMismatch):
        new_request(Status.APPROVED).apply(Action.VENDOR_DECLINE, vendor_id="v-other")


def test_a_fact_about_another_revision_is_refused_and_changes_nothing() -> None:
    request = new_request(Status.SUBMITTED)
    with pytest.raises(EventMismatch):
        request.apply(Action.APPROVE, revision=2)
    assert request.status is Status.SUBMITTED


def test_a_fact_about_another_vendor_is_refused_and_changes_nothing() -> None:
    request = new_request(Status.VENDOR_NOTIFIED)
    with pytest.raises(EventMismatch):
        request.apply(Action.VENDOR_DECLINE, vendor_id="v-old")
    assert request.status is Status.VENDOR_NOTIFIED


def test_revising_keeps_the_request_and_submits_a_new_revision() -> None:
    request = new_request(Status.CHANGES_REQUESTED)
    changed = request.revise({"title": "Fewer laptops"}, today=TODAY, actor=ALICE, submitted_at="now")
    assert changed == ["title"]
    assert (request.status, request.revision, request.new_revisions) == (Status.SUBMITTED, 2, [1, 2])
    assert [e.type for e in request.events] == ["purchase_request.revised", "purchase_request.submitted"]
    assert request.events[1].data["request"]["revision"] == 2


def test_reassigning_a_declined_request_makes_an_approved_revision_for_the_new_vendor() -> None:
    request = new_request(Status.VENDOR_DECLINED)
    request.reassign_vendor(vendor_id="v-9", reason="declined", actor=ALICE)
    assert (request.status, request.revision, request.content.vendor_id) == (Status.APPROVED, 2, "v-9")
    event = request.events[-1]
    assert event.type == "purchase_request.vendor_reassigned"
    assert event.data["previous_vendor_id"] == "v-1"
    assert event.data["request"]["vendor_id"] == "v-9"


def test_receipts_may_be_partial_but_never_exceed_what_was_ordered() -> None:
    request = new_request(Status.CONTRACT_EXECUTED)
    assert request.confirm_receipt({1: Decimal(1)}, actor=ALICE) is False
    assert request.status is Status.PARTIALLY_RECEIVED
    with pytest.raises(DomainError, match="exceed"):
        request.confirm_receipt({1: Decimal(2)}, actor=ALICE)
    assert request.received == {1: Decimal(1)}
    assert request.confirm_receipt({1: Decimal(1), 2: Decimal(1)}, actor=ALICE) is True
    assert request.status is Status.RECEIVED
    assert request.events[-1].data["fully_received"] is True


def test_closing_short_needs_a_reason() -> None:
    request = new_request(Status.PARTIALLY_RECEIVED)
    with pytest.raises(DomainError, match="reason"):
        request.close(short=True, reason=" ", actor=ALICE)
    assert request.status is Status.PARTIALLY_RECEIVED


class OrderMachine(RuleBasedStateMachine):
    """Any sequence of commands and facts keeps the request on the diagram."""

    def __init__(self) -> None:
        super().__init__()
        self.request = new_request()

    @rule(action=st.sampled_from(list(Action)))
    def act(self, action: Action) -> None:
        before = self.request.status
        events = len(self.request.events)
        try:
            perform(self.request, action, vendor=f"v-{self.request.revision + 1}")
        except DomainError:
            assert self.request.status is before
            assert len(self.request.events) == events
            return
        assert self.request.status in reachable(before, action)

    @invariant()
    def the_total_is_the_sum_of_the_lines(self) -> None:
        content = self.request.content
        assert content.total == sum(line.amount for line in content.lines)

    @invariant()
    def nothing_is_received_beyond_the_order(self) -> None:
        ordered = {line.line_no: line.quantity for line in self.request.content.lines}
        assert all(q <= ordered[n] for n, q in self.request.received.items())


OrderMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
test_no_sequence_of_actions_leaves_the_diagram = OrderMachine.TestCase


def test_a_fact_that_arrives_before_the_one_it_follows_may_still_apply_but_a_late_one_may_not() -> None:
    from backoffice_requests.domain.lifecycle import may_still_apply

    assert may_still_apply(Status.VENDOR_NOTIFIED, Action.GENERATE_CONTRACT)
    assert may_still_apply(Status.SUBMITTED, Action.NOTIFY_VENDOR)
    assert may_still_apply(Status.APPROVED, Action.EXECUTE_CONTRACT)
    assert not may_still_apply(Status.VENDOR_ACCEPTED, Action.NOTIFY_VENDOR)
    assert not may_still_apply(Status.CONTRACT_EXECUTED, Action.GENERATE_CONTRACT)
    for terminal in (Status.CLOSED, Status.CANCELLED, Status.REJECTED):
        assert not any(may_still_apply(terminal, action) for action in Action)
