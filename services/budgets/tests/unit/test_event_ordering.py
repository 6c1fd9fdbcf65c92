"""The ordering rule: whatever the interleaving of the two topics, a request's movements come in one sequence."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from budgets_ledger_kit import DAY, Sequenced, cause, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice_budgets.domain import ordering
from backoffice_budgets.domain import requests as rules
from backoffice_budgets.domain.holds import HoldState, RequestHold
from backoffice_budgets.domain.ordering import Arrival, Stream


@dataclass(frozen=True)
class Ev:
    kind: str
    rid: str
    revision: int | None = None
    total: str = "0"
    cc: str = "CC-1"
    previous_status: str | None = None
    quantity: Decimal = Decimal(0)
    short: bool = False
    event_id: str = ""

    @property
    def type(self) -> str:
        return f"purchase_request.{self.kind}"

    @property
    def stream(self) -> Stream:
        return Stream.APPROVALS if self.kind in ("approved", "rejected") else Stream.REQUESTS


def ev(kind: str, rid: str, **kw: Any) -> Ev:
    return Ev(kind, rid, event_id=str(uuid.uuid4()), **kw)


def deliver(b: Sequenced, e: Ev) -> str:
    c = cause(e.type, e.event_id)
    after = ordering.after_approval(e.type, e.previous_status)
    arrival = Arrival(e.event_id, e.type, revision=e.revision, after_approval=after)
    if e.kind == "submitted":
        snap = snapshot(e.rid, e.revision or 1, e.total, cost_centre=e.cc)
        return b.deliver(e.rid, arrival, lambda: b.submitted(snap, c))
    if e.kind == "approved":
        snap = snapshot(e.rid, e.revision or 1, e.total, cost_centre=e.cc)
        return b.deliver(e.rid, arrival, lambda: b.approved(snap, c))
    if e.kind in ("rejected", "cancelled"):
        return b.deliver(e.rid, arrival, lambda: b.released(e.rid, e.kind, revision=e.revision, c=c))
    if e.kind == "receipt_confirmed":
        return b.deliver(e.rid, arrival, lambda: b.received(e.rid, {1: e.quantity}, c))
    assert e.kind == "closed"
    return b.deliver(e.rid, arrival, lambda: b.closed_order(e.rid, e.short, c))


amounts = st.decimals(min_value=1, max_value=900, places=2).map(lambda d: format(d, "f"))
centres = st.sampled_from(["CC-1", "CC-2", "CC-404"])


@st.composite
def lifecycle(draw: st.DrawFn, rid: str) -> list[Ev]:
    """One request's events in a causal order the requests and approvals services can produce."""
    events: list[Ev] = []
    revisions = draw(st.integers(1, 3))
    total, cc = "0", "CC-1"
    for revision in range(1, revisions + 1):  # changes requested between revisions (not consumed by budgets)
        total, cc = draw(amounts), draw(centres)
        events.append(ev("submitted", rid, revision=revision, total=total, cc=cc))
    end = draw(st.sampled_from(["open", "cancelled", "rejected", "approved"]))
    if end == "cancelled":
        status = draw(st.sampled_from(["submitted", "changes_requested"]))
        events.append(ev("cancelled", rid, revision=revisions, previous_status=status))
    elif end == "rejected":
        events.append(ev("rejected", rid, revision=revisions))
    elif end == "approved":
        events.append(ev("approved", rid, revision=revisions, total=total, cc=cc))
        then = draw(st.sampled_from(["nothing", "cancelled", "delivered"]))
        if then == "cancelled":
            status = draw(st.sampled_from(sorted(ordering.APPROVED_STATES - {"contract_executed"})))
            # a vendor reassignment makes a new revision that budgets never sees submitted
            events.append(ev("cancelled", rid, revision=revisions + draw(st.integers(0, 1)), previous_status=status))
        elif then == "delivered":
            for quantity in draw(st.lists(st.decimals(min_value=0, max_value=1, places=2), max_size=2)):
                events.append(ev("receipt_confirmed", rid, quantity=quantity))
            if draw(st.booleans()):
                events.append(ev("closed", rid, short=draw(st.booleans())))
    return events


def merge(first: list[Ev], second: list[Ev], picks: list[bool]) -> list[Ev]:
    """An interleaving of two sequences, each kept in its order."""
    out: list[Ev] = []
    a, b = list(first), list(second)
    for pick in picks:
        if a and (pick or not b):
            out.append(a.pop(0))
        elif b:
            out.append(b.pop(0))
    return out + a + b


def books() -> Sequenced:
    b = Sequenced()
    b.open_budget("CC-1", "1000.00")
    b.open_budget("CC-2", "300.00")
    return b


def per_request(b: Sequenced) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for m in b.movements:
        if m.request_id is not None:
            key = (m.budget_id, m.kind, m.amount, m.deltas, m.revision, m.cause.event_id, m.reason)
            out.setdefault(m.request_id, []).append(key)
    return out


def checks(b: Sequenced, *, full: bool) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for e in b.of_type("budget.checked"):
        data = e.data if full else {k: e.data[k] for k in ("revision", "budget_id", "amount", "reason")}
        out.setdefault(e.subject, []).append((data, e.cause.event_id))
    return out


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_interleaving_of_the_two_topics_gives_each_request_the_same_sequence_of_movements(
    data: st.DataObject,
) -> None:
    rids = [f"r{i}" for i in range(data.draw(st.integers(1, 3)))]
    lives = [data.draw(lifecycle(rid)) for rid in rids]
    live: list[Ev] = []
    for events in lives:  # the order the services produced them in: the requests interleaved
        live = merge(live, events, data.draw(st.lists(st.booleans(), max_size=len(live) + len(events))))
    requests_topic = [e for e in live if e.stream is Stream.REQUESTS]
    approvals_topic = [e for e in live if e.stream is Stream.APPROVALS]
    read = merge(requests_topic, approvals_topic, data.draw(st.lists(st.booleans(), max_size=len(live))))
    redelivered = data.draw(st.lists(st.integers(0, max(len(read) - 1, 0)), max_size=3)) if read else []
    for i in sorted(redelivered, reverse=True):
        read.insert(data.draw(st.integers(i, len(read))), read[i])

    in_order = books()
    for e in live:
        deliver(in_order, e)
    assert in_order.held_back == 0, "the causal order itself held an event back"

    replayed = books()
    for e in read:
        deliver(replayed, e)
    assert replayed.waiting() == 0, "an event still waits after all its dependencies were read"
    assert per_request(replayed) == per_request(in_order)
    assert checks(replayed, full=len(rids) == 1) == checks(in_order, full=len(rids) == 1)
    if len(rids) == 1:  # one request: the whole ledger, balances after every movement included
        assert [(m.kind, m.after, m.cause.event_id) for m in replayed.movements if m.request_id] == [
            (m.kind, m.after, m.cause.event_id) for m in in_order.movements if m.request_id
        ]


def test_an_approval_read_before_its_submission_is_held_back_then_commits_after_the_reservation() -> None:
    b = books()
    submitted, approved = (
        ev("submitted", "r1", revision=1, total="600.00"),
        ev("approved", "r1", revision=1, total="600.00"),
    )
    assert deliver(b, approved) == "held back: waiting for the submission of revision 1"
    assert [m for m in b.movements if m.request_id] == []
    deliver(b, submitted)
    assert [(m.kind, m.cause.event_id) for m in b.movements if m.request_id] == [
        ("reserved", submitted.event_id), ("committed", approved.event_id)
    ]  # fmt: skip
    assert b.waiting() == 0


def test_a_cancellation_of_an_approved_order_waits_for_the_approval_and_then_releases_the_commitment() -> None:
    b = books()
    deliver(b, ev("submitted", "r1", revision=1, total="600.00"))
    cancelled = ev("cancelled", "r1", revision=1, previous_status="approved")
    assert deliver(b, cancelled) == "held back: waiting for the approval"
    receipt = ev("receipt_confirmed", "r1", quantity=Decimal(1))
    assert deliver(b, receipt).startswith("held back: waiting for an earlier purchase_request.cancelled")
    deliver(b, ev("approved", "r1", revision=1, total="600.00"))
    released = b.movements[-1]
    assert (released.kind, released.deltas.committed, released.cause.event_id) == (
        "released", Decimal("-600.00"), cancelled.event_id
    )  # fmt: skip
    assert b.waiting() == 0  # the receipt after the cancellation was applied, and ignored


def test_events_the_ledger_ignores_anyway_never_wait() -> None:
    hold = RequestHold("r1", DAY, revision=2)
    approval_of_1 = Arrival("e1", "purchase_request.approved", revision=1)
    assert ordering.waits_for(hold, approval_of_1, []) is None  # older revision: ignored at once
    unpriceable = Arrival("e2", "purchase_request.approved", revision=3, priceable=False)
    assert ordering.waits_for(hold, unpriceable, []) is None
    never_submitted = RequestHold("r2", DAY)
    receipt = Arrival("e3", "purchase_request.receipt_confirmed", after_approval=True)
    assert ordering.waits_for(never_submitted, receipt, []) is None  # submitted before this service read it
    closed = RequestHold("r3", DAY, revision=1, state=HoldState.CLOSED)
    assert ordering.waits_for(closed, Arrival("e4", "purchase_request.approved", revision=2), []) is None
    done = RequestHold("r4", DAY, revision=1, applied={"e5"})
    assert ordering.waits_for(done, Arrival("e5", "purchase_request.approved", revision=2), []) is None


def test_a_submission_never_waits_for_an_approvals_topic_event() -> None:
    hold = RequestHold("r1", DAY)
    pending = [Arrival("a", "purchase_request.approved", revision=2)]
    submitted = Arrival("s", "purchase_request.submitted", revision=1)
    assert ordering.waits_for(hold, submitted, pending) is None
    assert rules.needs_pricing(hold, 2)
