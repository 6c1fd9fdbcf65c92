"""The ledger rules, without I/O: what each request event moves, and what it refuses to move twice."""

from __future__ import annotations

from decimal import Decimal

from budgets_ledger_kit import Books, cause, snapshot

from backoffice_budgets.domain.fx import FxRate
from backoffice_budgets.domain.ledger import Balances

D = Decimal


def books(amount: str = "1000.00") -> Books:
    b = Books()
    b.open_budget("CC-1", amount)
    return b


def test_a_submission_within_budget_reserves_its_total_and_says_so() -> None:
    b = books()
    b.submitted(snapshot("r1", 1, "400.00"))
    assert b.budgets["CC-1"].balances == Balances(D("1000.00"), D("400.00"), 0, 0)
    [check] = b.of_type("budget.checked")
    assert check.data["status"] == "within_budget"
    assert check.data["available_before"] == "1000.00"
    assert check.data["available_after"] == "600.00"
    assert [e.type for e in b.events] == ["budget.reserved", "budget.checked"]


def test_the_second_of_two_requests_for_the_last_money_is_over_budget_by_the_difference() -> None:
    b = books()
    b.submitted(snapshot("r1", 1, "700.00"))
    b.submitted(snapshot("r2", 1, "500.00"))
    checks = b.of_type("budget.checked")
    assert [c.data["status"] for c in checks] == ["within_budget", "over_budget"]
    assert checks[1].data["over_by"] == "200.00"
    assert b.budgets["CC-1"].balances.available == D("-200.00")


def test_a_revision_raising_the_total_reserves_the_difference_and_counts_its_own_reservation() -> None:
    b = books()
    b.submitted(snapshot("r1", 1, "600.00"))
    b.submitted(snapshot("r1", 2, "900.00"))
    assert b.budgets["CC-1"].balances.reserved == D("900.00")
    check = b.of_type("budget.checked")[-1]
    assert (check.data["status"], check.data["available_before"]) == ("within_budget", "1000.00")
    assert [m.deltas.reserved for m in b.movements[1:]] == [D("600.00"), D("300.00")]


def test_a_revision_lowering_the_total_releases_the_difference() -> None:
    b = books()
    b.submitted(snapshot("r1", 1, "600.00"))
    b.submitted(snapshot("r1", 2, "250.00"))
    assert b.budgets["CC-1"].balances.reserved == D("250.00")
    assert b.movements[-1].kind == "released"
    assert b.movements[-1].reason == "revision_lowered"
    assert b.of_type("budget.released")[0].data["amount"] == "350.00"


def test_approval_commits_and_receipts_spend_and_a_short_close_releases_the_rest() -> None:
    b = books()
    b.submitted(snapshot("r1", 1, "600.00"))
    b.approved(snapshot("r1", 1, "600.00"))
    assert b.budgets["CC-1"].balances == Balances(D("1000.00"), 0, D("600.00"), 0)
    b.received("r1", {1: D("0.5")})
    assert b.budgets["CC-1"].balances == Balances(D("1000.00"), 0, D("300.00"), D("300.00"))
    b.closed_order("r1", short=True)
    assert b.budgets["CC-1"].balances == Balances(D("1000.00"), 0, 0, D("300.00"))
    assert b.movements[-1].reason == "closed_short"


def test_cancellation_after_approval_releases_the_commitment_and_later_events_move_nothing() -> None:
    b = books()
    b.submitted(snapshot("r1", 1, "600.00"))
    b.approved(snapshot("r1", 1, "600.00"))
    b.released("r1", "cancelled", revision=1)
    assert b.budgets["CC-1"].balances == Balances(D("1000.00"), 0, 0, 0)
    count = len(b.movements)
    assert b.approved(snapshot("r1", 1, "600.00")).startswith("ignored")
    assert b.received("r1", {1: D(1)}).startswith("ignored")
    assert len(b.movements) == count


def test_a_rejection_of_an_older_revision_is_ignored() -> None:
    b = books()
    b.submitted(snapshot("r1", 1, "600.00"))
    b.submitted(snapshot("r1", 2, "500.00"))
    assert b.released("r1", "rejected", revision=1).startswith("ignored")
    assert b.budgets["CC-1"].balances.reserved == D("500.00")


def test_an_approval_that_overtook_its_submission_prices_and_commits_and_the_late_submission_is_ignored() -> None:
    b = books()
    b.approved(snapshot("r1", 1, "600.00"))
    assert b.budgets["CC-1"].balances.committed == D("600.00")
    assert b.submitted(snapshot("r1", 1, "600.00")).startswith("ignored")
    assert len(b.of_type("budget.checked")) == 1


def test_a_release_that_overtook_the_submission_leaves_nothing_reserved_afterwards() -> None:
    b = books()
    b.released("r1", "cancelled", revision=1)
    assert b.submitted(snapshot("r1", 1, "600.00")).startswith("ignored")
    assert b.budgets["CC-1"].balances.reserved == 0


def test_an_unknown_cost_centre_is_checked_as_no_budget_and_moves_nothing() -> None:
    b = books()
    b.submitted(snapshot("r1", 1, "600.00", cost_centre="CC-404"))
    [check] = b.of_type("budget.checked")
    assert (check.data["status"], check.data["reason"]) == ("no_budget", "unknown_cost_centre")
    assert len(b.movements) == 1


def test_a_revision_moving_to_another_cost_centre_releases_in_the_old_budget_and_reserves_in_the_new() -> None:
    b = books()
    b.open_budget("CC-2", "500.00")
    b.submitted(snapshot("r1", 1, "300.00"))
    b.submitted(snapshot("r1", 2, "300.00", cost_centre="CC-2"))
    assert b.budgets["CC-1"].balances.reserved == 0
    assert b.budgets["CC-2"].balances.reserved == D("300.00")


def test_a_foreign_currency_is_converted_at_the_stored_rate_and_receipts_use_the_same_rate() -> None:
    b = books()
    from datetime import date

    b.fx["USD"] = FxRate.cross("USD", "EUR", from_per_eur=D("1.25"), to_per_eur=D(1), on=date(2026, 10, 30))
    b.submitted(snapshot("r1", 1, "500.00", currency="USD"))
    assert b.budgets["CC-1"].balances.reserved == D("400.00")
    check = b.of_type("budget.checked")[0]
    assert check.data["fx"] == {
        "from_currency": "USD",
        "to_currency": "EUR",
        "rate": "0.8000000000",
        "rate_date": "2026-10-30",
    }
    b.approved(snapshot("r1", 1, "500.00", currency="USD"))
    b.received("r1", {1: D(1)})
    assert b.budgets["CC-1"].balances.spent == D("400.00")
    assert b.movements[-1].fx is not None
    assert b.movements[-1].source_amount == D("500.00")


def test_thresholds_are_announced_once_when_use_passes_80_and_100_percent() -> None:
    b = books()
    b.submitted(snapshot("r1", 1, "790.00"))
    assert b.of_type("budget.threshold_crossed") == []
    b.submitted(snapshot("r2", 1, "20.00"))
    b.submitted(snapshot("r3", 1, "10.00"))
    assert [e.data["threshold_percent"] for e in b.of_type("budget.threshold_crossed")] == [80]
    b.submitted(snapshot("r4", 1, "500.00"))
    crossed = b.of_type("budget.threshold_crossed")
    assert [e.data["threshold_percent"] for e in crossed] == [80, 100]
    assert crossed[-1].subject == "B-CC-1"
    assert crossed[-1].data["owner"] == {"id": "olga"}


def test_a_redelivered_receipt_is_not_spent_twice() -> None:
    b = books()
    b.submitted(snapshot("r1", 1, "600.00"))
    b.approved(snapshot("r1", 1, "600.00"))
    receipt = cause("purchase_request.receipt_confirmed")
    b.received("r1", {1: D("0.5")}, receipt)
    assert b.received("r1", {1: D("0.5")}, receipt).startswith("ignored")
    assert b.budgets["CC-1"].balances.spent == D("300.00")
