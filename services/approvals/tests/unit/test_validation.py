import pytest
from approvals_testkit import POLICY, directory
from pydantic import ValidationError

from backoffice_approvals.domain.people import Approver, Directory, directory_problems
from backoffice_approvals.domain.policy import PolicyDocument, reference_problems


def locations(exc: ValidationError) -> list[tuple]:
    return [e["loc"] for e in exc.errors()]


def test_a_malformed_condition_is_reported_at_its_step():
    bad = {**POLICY, "steps": [{**POLICY["steps"][0], "when": {"amount_min": "ten"}}]}
    with pytest.raises(ValidationError) as exc:
        PolicyDocument.model_validate(bad)
    assert ("steps", 0, "when", "amount_min") in locations(exc.value)


def test_an_unknown_condition_key_is_rejected():
    bad = {**POLICY, "steps": [{**POLICY["steps"][0], "when": {"colour": "red"}}]}
    with pytest.raises(ValidationError) as exc:
        PolicyDocument.model_validate(bad)
    assert ("steps", 0, "when", "colour") in locations(exc.value)


def test_an_unknown_group_is_reported_where_it_is_named():
    policy = PolicyDocument.model_validate(POLICY)
    other = Directory({k: v for k, v in directory().approvers.items() if k not in ("lena", "lars")})
    assert reference_problems(policy, other) == [("steps[2].approvers.group", "unknown group 'legal'")]


def test_a_cycle_of_managers_is_reported_with_the_path():
    d = directory()
    d.approvers["carol"] = Approver("carol", "Carol", "c@example.com", manager_id="mike")
    problems = directory_problems(d)
    assert len(problems) == 1
    where, message = problems[0]
    assert where.endswith(".manager_id")
    assert "cycle of managers" in message
    assert "mike" in message


def test_a_negative_limit_is_reported():
    d = directory()
    d.approvers["x"] = Approver("x", "X", "x@example.com", limit_amount=-1)  # type: ignore[arg-type]
    assert ("approvers[x].limit_amount", "the approval limit cannot be negative") in directory_problems(d)


def test_the_sample_directory_is_consistent():
    assert directory_problems(directory()) == []


def test_business_hours_with_an_unknown_zone_or_reversed_times_are_refused():
    for hours, message in (
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"timezone": "UTC", "start": "18:00", "end": "08:00"}, "start must be before end"),
        ({"timezone": "UTC", "days": [0]}, "ISO weekdays"),
    ):
        with pytest.raises(ValidationError) as exc:
            PolicyDocument.model_validate({**POLICY, "business_hours": hours})
        assert exc.value.errors()[0]["loc"] == ("business_hours",)
        assert message in str(exc.value)


@pytest.mark.parametrize(
    ("statuses", "message"),
    [(["overspent"], "within_budget"), ([], "at least 1"), (["over_budget", "over_budget"], "names a status twice")],
)
def test_a_budget_condition_names_known_statuses_once(statuses, message):
    step = {**POLICY["steps"][0], "when": {"budget_statuses": statuses}}
    with pytest.raises(ValidationError) as exc:
        PolicyDocument.model_validate({**POLICY, "steps": [step]})
    assert exc.value.errors()[0]["loc"][:3] == ("steps", 0, "when")
    assert message in str(exc.value)


def test_the_cost_centre_owner_selector_takes_no_arguments():
    step = {**POLICY["steps"][0], "approvers": {"kind": "cost_centre_owner", "user": "olga"}}
    with pytest.raises(ValidationError) as exc:
        PolicyDocument.model_validate({**POLICY, "steps": [step]})
    assert ("steps", 0, "approvers", "cost_centre_owner", "user") in locations(exc.value)
