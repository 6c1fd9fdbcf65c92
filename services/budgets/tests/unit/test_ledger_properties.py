"""Property: no sequence of request events, redeliveries included, breaks the ledger's arithmetic."""

from __future__ import annotations

from decimal import Decimal

from budgets_ledger_kit import Books, cause, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice_budgets.domain.ledger import Balances, Cause

REQUESTS = ["r1", "r2", "r3"]
amounts = st.decimals(min_value=0, max_value=5000, places=2).map(lambda d: format(d, "f"))

step = st.one_of(
    st.tuples(
        st.just("submitted"),
        st.sampled_from(REQUESTS),
        st.integers(1, 4),
        amounts,
        st.sampled_from(["CC-1", "CC-2", "CC-404"]),
    ),
    st.tuples(
        st.just("approved"), st.sampled_from(REQUESTS), st.integers(1, 4), amounts, st.sampled_from(["CC-1", "CC-2"])
    ),
    st.tuples(st.just("rejected"), st.sampled_from(REQUESTS), st.integers(1, 4)),
    st.tuples(st.just("cancelled"), st.sampled_from(REQUESTS), st.integers(1, 4)),
    st.tuples(st.just("received"), st.sampled_from(REQUESTS), st.decimals(min_value=0, max_value=1, places=3)),
    st.tuples(st.just("closed"), st.sampled_from(REQUESTS), st.booleans()),
    st.tuples(st.just("redeliver"), st.integers(0, 1000)),
)


def apply(b: Books, s: tuple[object, ...], c: Cause) -> None:
    kind = s[0]
    if kind == "submitted":
        _, rid, rev, total, cc = s
        b.submitted(snapshot(str(rid), int(rev), str(total), cost_centre=str(cc)), c)  # type: ignore[call-overload]
    elif kind == "approved":
        _, rid, rev, total, cc = s
        b.approved(snapshot(str(rid), int(rev), str(total), cost_centre=str(cc)), c)  # type: ignore[call-overload]
    elif kind in ("rejected", "cancelled"):
        b.released(str(s[1]), str(kind), revision=int(s[2]), c=c)  # type: ignore[call-overload]
    elif kind == "received":
        b.received(str(s[1]), {1: Decimal(str(s[2]))}, c)
    elif kind == "closed":
        b.closed_order(str(s[1]), bool(s[2]), c)


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=40))
def test_balances_are_the_sum_of_the_movements_and_redeliveries_move_nothing(steps: list[tuple[object, ...]]) -> None:
    b = Books()
    b.open_budget("CC-1", "1000.00")
    b.open_budget("CC-2", "300.00")
    history: list[tuple[tuple[object, ...], Cause]] = []
    for s in steps:
        if s[0] == "redeliver":
            if not history:
                continue
            before_movements, before_events = len(b.movements), len(b.events)
            apply(b, *history[int(s[1]) % len(history)])  # type: ignore[call-overload]
            assert len(b.movements) == before_movements, "a redelivered event moved money"
            assert len(b.events) == before_events, "a redelivered event published again"
            continue
        c = cause(f"purchase_request.{s[0]}")
        apply(b, s, c)
        history.append((s, c))

    for account in b.budgets.values():
        mine = [m for m in b.movements if m.budget_id == account.id]
        total = Balances()
        for m in mine:
            total = total.plus(m.deltas)
            assert m.after == total, "a running balance differs from the sum of the deltas before it"
        assert account.balances == total
        assert total.reserved >= 0
        assert total.committed >= 0
        assert total.spent >= 0
        held = [h for h in b.holds.values() if h.budget_id == account.id]
        assert total.reserved == sum((h.reserved for h in held), Decimal(0))
        assert total.committed == sum((h.committed for h in held), Decimal(0))

    for hold in b.holds.values():
        assert hold.reserved >= 0
        assert hold.committed >= 0
        in_budget = [m for m in b.movements if m.request_id == hold.request_id and m.budget_id == hold.budget_id]
        assert hold.reserved == sum((m.deltas.reserved for m in in_budget), Decimal(0))
        assert hold.committed == sum((m.deltas.committed for m in in_budget), Decimal(0))
        assert hold.spent == sum((m.deltas.spent for m in in_budget), Decimal(0))
        if hold.is_closed:
            assert hold.reserved == 0
            assert hold.committed == 0

    revisions = [(e.subject, e.data["revision"]) for e in b.of_type("budget.checked")]
    assert len(revisions) == len(set(revisions)), "a revision was checked twice"
