from datetime import UTC, datetime, timedelta
from decimal import Decimal

from approvals_testkit import POLICY, directory, snapshot

from backoffice_approvals.domain.budget import BudgetCheck
from backoffice_approvals.domain.delegation import resolve_delegate
from backoffice_approvals.domain.people import Absence, Approver, Person
from backoffice_approvals.domain.plan import PriorApprovals
from backoffice_approvals.domain.policy import PolicyDocument, builtin_policy
from backoffice_approvals.domain.routing import plan_chain

FALLBACK = Person("admin", "Admin", "admin@example.com")
RATES = {"USD": Decimal("0.9")}


def plan(snap, policy=None, prior=None):
    policy = policy or PolicyDocument.model_validate(POLICY)
    return plan_chain(
        policy=policy, snapshot=snap, directory=directory(), base="EUR", rates=RATES, fallback=FALLBACK, prior=prior
    )


def ids(step):
    return [p.id for p in step.approvers]


def test_a_small_request_goes_to_the_requesters_manager_only():
    result = plan(snapshot(total="1000.00"))
    assert [(s.name, ids(s)) for s in result.steps] == [("manager", ["mike"])]


def test_an_amount_above_the_limit_passes_the_step_up_and_the_head_is_not_used_twice():
    result = plan(snapshot(total="20000.00"))
    assert [(s.name, ids(s)) for s in result.steps] == [("manager", ["dave"]), ("head", ["carol"])]
    assert any("limit" in r for r in result.steps[0].reasons)
    assert any("already fills another step" in r for r in result.steps[1].reasons)


def test_a_foreign_currency_amount_is_converted_before_thresholds_apply():
    below = plan(snapshot(total="11000.00", currency="USD"))  # 9900 EUR
    above = plan(snapshot(total="11200.00", currency="USD"))  # 10080 EUR
    assert [s.name for s in below.steps] == ["manager"]
    assert [s.name for s in above.steps] == ["manager", "head"]


def test_an_amount_in_a_currency_without_rate_counts_as_above_every_threshold():
    result = plan(snapshot(total="1.00", currency="JPY"))
    assert [s.name for s in result.steps] == ["manager", "head"]
    assert any("no exchange rate" in n for n in result.notes)


def test_a_total_that_is_no_decimal_gives_a_blocked_plan_before_any_conversion():
    for total in ("abc", "NaN", "-Infinity", True):
        result = plan({**snapshot(), "total": total})
        assert result.steps == []
        assert result.blocked == f"the request total {total!r} is not a decimal"


def test_parallel_steps_share_a_stage_and_all_mode_needs_every_member():
    result = plan(snapshot(category="legal"))
    manager, legal = result.steps
    assert manager.stage == legal.stage == 0
    assert legal.mode == "all"
    assert legal.required == 2
    assert ids(legal) == ["lars", "lena"]


def test_the_requester_is_never_routed_to_themself():
    result = plan(snapshot(requester="lena", category="legal"))
    legal = next(s for s in result.steps if s.name == "legal")
    assert ids(legal) == ["lars"]
    assert all("lena" not in ids(s) for s in result.steps)


def test_without_a_manager_the_builtin_policy_routes_to_the_fallback_approver():
    policy = builtin_policy(base_currency="EUR", head_threshold=Decimal("10000"), due_seconds=60)
    result = plan(snapshot(requester="stranger"), policy=policy)
    assert [(s.name, ids(s)) for s in result.steps] == [("manager", ["admin"])]
    assert any("fallback" in r for r in result.steps[0].reasons)


def test_an_earlier_approval_is_carried_over_when_relevant_fields_did_not_change():
    first = snapshot(total="1000.00")
    second = {**first, "revision": 2, "title": "new title"}
    prior = PriorApprovals(revision=1, snapshot=first, approved_by_step={"manager": ["mike"]})
    result = plan(second, prior=prior)
    assert result.steps[0].satisfied_by_carry_over


def test_an_earlier_approval_is_not_carried_over_when_the_total_changed():
    first = snapshot(total="1000.00")
    second = {**first, "revision": 2, "total": "1200.00"}
    prior = PriorApprovals(revision=1, snapshot=first, approved_by_step={"manager": ["mike"]})
    result = plan(second, prior=prior)
    assert not result.steps[0].satisfied_by_carry_over
    assert any("changed: total" in r for r in result.steps[0].reasons)


NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def away(user, delegate):
    return Absence(user, NOW - timedelta(days=1), NOW + timedelta(days=1), delegate)


def test_an_absent_approvers_task_goes_to_the_delegate_of_their_absent_delegate():
    mike = directory().get("mike").person
    assignee, on_behalf = resolve_delegate(
        mike, directory=directory(), absences=[away("mike", "mona"), away("mona", "dina")], at=NOW, excluded=()
    )
    assert (assignee.id, on_behalf.id) == ("dina", "mike")


def test_a_loop_of_delegates_falls_back_to_the_approvers_manager():
    mike = directory().get("mike").person
    assignee, on_behalf = resolve_delegate(
        mike, directory=directory(), absences=[away("mike", "mona"), away("mona", "mike")], at=NOW, excluded=()
    )
    assert (assignee.id, on_behalf.id) == ("dave", "mike")


def test_a_delegation_that_ended_is_ignored():
    mike = directory().get("mike").person
    old = Absence("mike", NOW - timedelta(days=3), NOW - timedelta(days=2), "mona")
    assignee, on_behalf = resolve_delegate(mike, directory=directory(), absences=[old], at=NOW, excluded=())
    assert (assignee.id, on_behalf) == ("mike", None)


def test_the_budget_condition_follows_the_check_and_the_owner_comes_from_it():
    owner = Person("olga", "Olga", "olga@example.com")
    policy = PolicyDocument.model_validate(POLICY)
    snap = snapshot(category="budgeted")

    def run(check):
        return plan_chain(
            policy=policy,
            snapshot=snap,
            directory=directory(),
            base="EUR",
            rates=RATES,
            fallback=FALLBACK,
            budget=check,
        )

    over = run(BudgetCheck("over_budget", over_by="600.00", currency="EUR", owner=owner))
    assert [(s.name, ids(s), s.stage) for s in over.steps] == [
        ("cost_centre_owner", ["olga"], 0),
        ("cfo", ["carol"], 0),
    ]
    assert over.steps[0].approvers == [owner]
    assert over.notes[0] == "budget check: over_budget by 600.00 EUR"

    within = run(BudgetCheck("within_budget", owner=owner))
    assert within.steps == []
    assert any("budget status 'within_budget' is not one of" in n for n in within.notes)

    # No check (the fallback) counts as no_budget; nobody owns the cost centre: the fallback approver.
    unchecked = run(None)
    assert [(s.name, ids(s)) for s in unchecked.steps] == [("cost_centre_owner", ["admin"]), ("cfo", ["carol"])]
    assert unchecked.notes[0] == "budget check: no_budget (not_checked)"


def test_an_owner_who_is_the_requester_passes_up_to_their_manager():
    policy = PolicyDocument.model_validate(POLICY)
    alice = Person("alice", "Alice", "alice@example.com")
    result = plan_chain(
        policy=policy,
        snapshot=snapshot(category="budgeted"),
        directory=directory(),
        base="EUR",
        rates=RATES,
        fallback=FALLBACK,
        budget=BudgetCheck("over_budget", over_by="1.00", currency="EUR", owner=alice),
    )
    assert [(s.name, ids(s)) for s in result.steps] == [("cost_centre_owner", ["mike"]), ("cfo", ["carol"])]


def test_the_department_head_is_the_head_of_the_requesters_department_in_the_directory_not_the_one_typed() -> None:
    people = directory()
    people.approvers["hank"] = Approver(
        "hank", "Hank", "hank@example.com", department="FIN", head_of=frozenset({"FIN"})
    )
    result = plan_chain(
        policy=PolicyDocument.model_validate(POLICY),
        snapshot=snapshot(requester="bob", total="20000.00", department="FIN"),
        directory=people,
        base="EUR",
        rates=RATES,
        fallback=FALLBACK,
    )
    heads = [ids(s) for s in result.steps if s.name == "head"]
    assert heads
    assert "hank" not in heads[0]
    assert any("department ENG of the requester in the directory" in r for s in result.steps for r in s.reasons)


def test_a_department_condition_reads_the_directory_so_a_typed_department_picks_no_friendlier_approver() -> None:
    """Issue #12 item 4: bob (ENG in the directory) types FIN to get FIN's lenient step instead of ENG's head."""
    policy = PolicyDocument.model_validate(
        {
            "name": "per department",
            "base_currency": "EUR",
            "steps": [
                {
                    "name": "fin_light",
                    "when": {"departments": ["FIN"]},
                    "approvers": {"kind": "user", "user": "lars"},
                    "due_seconds": 3600,
                },
                {
                    "name": "eng_head",
                    "when": {"departments": ["ENG"]},
                    "approvers": {"kind": "department_head"},
                    "due_seconds": 3600,
                },
            ],
        }
    )
    typed = plan(snapshot(requester="bob", total="500.00", department="FIN"), policy)
    honest = plan(snapshot(requester="bob", total="500.00", department="ENG"), policy)
    for result in (typed, honest):
        assert [s.name for s in result.steps] == ["eng_head"]
        assert all("lars" not in ids(s) for s in result.steps)
        assert any("step fin_light skipped: department 'ENG'" in n for n in result.notes)
        assert any("department ENG of the requester in the directory" in n for n in result.notes)
    # Someone the directory lists without a department: the request's own field is all there is.
    unlisted = plan(snapshot(requester="nobody-listed", total="500.00", department="FIN"), policy)
    assert [s.name for s in unlisted.steps] == ["fin_light"]
