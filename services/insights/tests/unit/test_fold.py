"""Folding one request's events: stages, tasks, vendors, spend and who it waits on, whatever the arrival order."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from insights_testkit import BOB, CAROL, DAVE, SLOW_VENDOR, Order, full_order

from backoffice_insights.domain.fold import fold
from backoffice_insights.domain.values import amount_band

BANDS = [Decimal(1000), Decimal(10000), Decimal(100000)]
H = timedelta(hours=1)


def stages(order: Order) -> dict[str, float]:
    view = fold(order.facts(), bands=BANDS)
    assert view is not None
    return {s.name: s.seconds for s in view.stages}


def test_a_whole_order_has_each_stage_and_the_cycle_from_first_submission_to_closure() -> None:
    order = full_order(Order(), approval=4 * H, vendor_answer=6 * H, delivery=timedelta(days=3), closing=H)
    got = stages(order)
    assert got["approval"] == 4 * 3600
    assert got["vendor_answer"] == 6 * 3600
    assert got["contracting"] == 5 + 2 * 3600 + 1800 + 3
    assert got["delivery"] == 3 * 86400
    assert got["closing"] == 3600
    assert got["cycle"] == sum(v for k, v in got.items() if k != "cycle")
    view = fold(order.facts(), bands=BANDS)
    assert view is not None
    assert view.status == "closed"
    assert view.waiting is None
    assert view.amount_band == "1000-10000"


def test_any_arrival_order_and_any_repeat_give_the_same_view() -> None:
    order = full_order(Order())
    expected = fold(order.facts(), bands=BANDS)
    facts = order.facts()
    for seed in range(20):
        shuffled = facts + facts[: seed % 5]
        random.Random(seed).shuffle(shuffled)
        # A repeat is absorbed before folding (the fact's id is its key); the fold sees each fact once.
        unique = list({f.event_id: f for f in shuffled}.values())
        assert fold(unique, bands=BANDS) == expected


def test_rework_is_the_time_the_requester_held_the_request_and_is_not_counted_as_approval() -> None:
    order = Order().submit()
    task = order.assign(BOB)
    order.decide(task, BOB, "changes_requested", 2 * H - timedelta(seconds=1))
    order.revise(5 * H)
    task = order.assign(BOB)
    order.decide(task, BOB, "approved", H - timedelta(seconds=1))
    order.approve([BOB])
    view = fold(order.facts(), bands=BANDS)
    assert view is not None
    got = {s.name: s.seconds for s in view.stages}
    assert got["rework"] == 5 * 3600
    assert got["approval"] == 3 * 3600
    assert view.changes_requested == 1
    assert view.revision == 2


def test_open_tasks_name_the_approver_the_request_waits_on_and_since_when() -> None:
    order = Order().submit()
    order.assign(BOB, after=timedelta(seconds=3))
    view = fold(order.facts(), bands=BANDS)
    assert view is not None
    assert view.waiting is not None
    assert view.waiting.kind == "approver"
    assert [p.id for p in view.waiting.who] == ["bob"]
    assert view.waiting.since == order.start + timedelta(seconds=3)


def test_an_escalated_task_waits_on_the_new_approver_and_counts_as_an_escalation_of_the_first() -> None:
    order = Order().submit()
    task = order.assign(BOB)
    order.remind(task, BOB, 24 * H).remind(task, BOB, 12 * H)
    order.escalate(task, BOB, CAROL, 12 * H)
    view = fold(order.facts(), bands=BANDS)
    assert view is not None
    assert view.waiting is not None
    bob = next(t for t in view.tasks if t.assignee.id == "bob")
    assert bob.reminders == 2
    assert bob.closed_reason == "escalated"
    assert bob.escalated_to is not None
    assert [p.id for p in view.waiting.who] == ["carol"]


def test_a_delegated_task_names_the_absent_approver_as_on_behalf_of() -> None:
    order = Order().submit()
    order.assign(DAVE, on_behalf_of=BOB)
    view = fold(order.facts(), bands=BANDS)
    assert view is not None
    assert view.tasks[0].on_behalf_of is not None
    assert view.tasks[0].on_behalf_of.id == "bob"


def test_a_decline_then_a_new_vendor_makes_two_vendor_answers_and_waits_on_the_new_vendor() -> None:
    order = Order().submit()
    task = order.assign(BOB)
    order.decide(task, BOB, "approved", H).approve([BOB])
    order.decline(3 * H)
    declined = fold(order.facts(), bands=BANDS)
    assert declined is not None
    assert declined.waiting is not None
    assert declined.waiting.kind == "procurement"
    order.reassign(SLOW_VENDOR, 2 * H)
    view = fold(order.facts(), bands=BANDS)
    assert view is not None
    assert view.waiting is not None
    assert view.waiting.kind == "vendor"
    assert view.waiting.who[0].id == SLOW_VENDOR
    assert [(a.vendor_id, a.answer) for a in view.vendor_answers] == [
        (order.events[0][1].data["request"]["vendor_id"], "declined"),
        (SLOW_VENDOR, None),
    ]


def test_a_contract_waits_on_the_vendor_signature_then_on_the_buyer() -> None:
    order = Order().submit()
    task = order.assign(BOB)
    order.decide(task, BOB, "approved", H).approve([BOB]).accept(H)
    view = fold(order.facts(), bands=BANDS)
    assert view is not None
    assert view.waiting is not None
    assert view.waiting.kind == "vendor"
    order.sign("vendor", 5 * H)
    view = fold(order.facts(), bands=BANDS)
    assert view is not None
    assert view.waiting is not None
    assert view.waiting.kind == "buyer"
    assert view.signings[0].vendor_signed_at is not None
    assert view.signings[0].generated_at is not None


def test_spend_is_committed_at_execution_and_received_per_receipt_at_the_line_price() -> None:
    order = Order(quantity=4, unit_price="250.00").submit()
    task = order.assign(BOB)
    order.decide(task, BOB, "approved", H).approve([BOB]).accept(H).sign("vendor", H).sign("buyer", H).execute()
    order.receive(1, 24 * H, fully=False).receive(3, 24 * H)
    view = fold(order.facts(), bands=BANDS)
    assert view is not None
    assert [(s.kind, s.amount) for s in view.spend] == [
        ("committed", Decimal("1000.00")),
        ("received", Decimal("250.00")),
        ("received", Decimal("750.00")),
    ]
    assert view.status == "received"
    assert view.waiting is not None
    assert view.waiting.kind == "requester"
    assert view.amount_band == "1000-10000"


def test_a_cancelled_request_is_not_waiting_and_commits_nothing() -> None:
    order = Order().submit()
    order.assign(BOB)
    order.cancel(H)
    view = fold(order.facts(), bands=BANDS)
    assert view is not None
    assert view.status == "cancelled"
    assert view.waiting is None
    assert view.spend == []
    assert view.ended_at == order.now


def test_failed_deliveries_are_kept_with_their_attempts() -> None:
    order = Order().submit().delivery_failed(H, attempts=4)
    view = fold(order.facts(), bands=BANDS)
    assert view is not None
    assert [(d.channel, d.attempts) for d in view.failed_deliveries] == [("webhook", 4)]


def test_events_with_unexpected_payloads_are_folded_without_failing() -> None:
    order = Order().submit()
    fact = order.facts()[0]
    broken = type(fact)(
        "x", "approval.task_assigned", fact.time, fact.request_id, {"assignee": "not a person", "due_at": 5}
    )
    view = fold([fact, broken], bands=BANDS)
    assert view is not None
    assert view.tasks[0].assignee.id == "unknown"
    assert view.tasks[0].due_at is None


def test_amount_bands_are_named_by_their_limits() -> None:
    assert amount_band(Decimal("999.99"), BANDS) == "<1000"
    assert amount_band(Decimal(1000), BANDS) == "1000-10000"
    assert amount_band(Decimal(100000), BANDS) == ">=100000"
    assert amount_band(None, BANDS) == ""
