"""Routing waits for the revision's ``budget.checked``: through the consumers' handlers and the timer,
against a fake unit of work."""

from datetime import timedelta

import pytest
from approvals_fakes import FakeUnitOfWork
from approvals_testkit import OWNER, POLICY, budget_checked, cancelled, directory, revised, snapshot, submitted

from backoffice_approvals.consumers import build_handlers
from backoffice_approvals.service.planning import now_utc
from backoffice_approvals.service.timers import fire_due_timer
from backoffice_approvals.settings import Settings
from backoffice_common.consumer import PermanentEventError
from backoffice_common.events import CloudEvent

SETTINGS = Settings(budget_check_wait_seconds=30)
HANDLERS = build_handlers(SETTINGS)


async def handle(uow: FakeUnitOfWork, event: CloudEvent) -> str | None:
    outcome = await HANDLERS[event.type](event, uow)
    await uow.commit()
    return outcome


def fake() -> FakeUnitOfWork:
    return FakeUnitOfWork(directory=directory(), policy=POLICY)


def assignees(uow: FakeUnitOfWork) -> list[tuple[str, str]]:
    return [(e.data["step"], e.data["assignee"]["id"]) for e in uow.events("approval.task_assigned")]


async def test_a_submission_waits_for_its_check_then_an_over_budget_request_gets_the_owner_and_the_cfo():
    uow = fake()
    snap = snapshot(category="budgeted")
    outcome = await handle(uow, submitted(snap))
    assert outcome == "waiting up to 30 s for the budget check of revision 1"
    assert uow.published == []
    [pending] = uow.pending.rows.values()
    [(kind, fire_at)] = uow.timers.of(pending.id)
    assert kind == "budget_wait"
    assert timedelta(seconds=29) < fire_at - now_utc() <= timedelta(seconds=30)

    check = budget_checked(snap["request_id"], status="over_budget")
    await handle(uow, check)
    assert sorted(assignees(uow)) == [("cfo", "carol"), ("cost_centre_owner", OWNER["id"])]
    owner_task = next(e for e in uow.events("approval.task_assigned") if e.data["step"] == "cost_centre_owner")
    assert owner_task.data["assignee"] == OWNER
    assert owner_task.causationid == check.id
    assert uow.pending.rows == {}
    [chain] = uow.chains.stored.values()
    assert {s.stage for s in chain.steps} == {0}

    # The timer fires later and finds nothing waiting: no second chain.
    uow.published.clear()
    uow.timers.timers[0].fire_at = now_utc()
    assert await fire_due_timer(uow_factory=lambda: uow, settings=SETTINGS)
    assert uow.published == []
    assert len(uow.chains.stored) == 1


async def test_a_check_that_arrives_first_routes_the_submission_at_once():
    uow = fake()
    snap = snapshot(category="budgeted")
    assert await handle(uow, budget_checked(snap["request_id"], status="within_budget")) == "recorded within_budget"
    outcome = await handle(uow, submitted(snap))
    assert outcome is not None
    assert outcome.startswith("chain ")
    assert uow.pending.rows == {}
    # Within budget: neither budget step applies, and a "budgeted" request has no other step.
    assert assignees(uow) == []
    assert uow.types() == ["purchase_request.approved"]


async def test_without_a_check_in_time_the_timer_routes_with_the_fallback_no_budget():
    uow = fake()
    snap = snapshot(category="budgeted")
    event = submitted(snap)
    await handle(uow, event)
    uow.timers.timers[0].fire_at = now_utc()
    assert await fire_due_timer(uow_factory=lambda: uow, settings=SETTINGS)
    # No owner is known without a check: that step goes to the fallback approver.
    assert sorted(assignees(uow)) == [("cfo", "carol"), ("cost_centre_owner", SETTINGS.fallback_approver_id)]
    assert all(e.causationid == event.id for e in uow.events())
    assert all(e.correlationid == event.correlationid for e in uow.events())
    # The check arriving late is only recorded.
    uow.published.clear()
    assert await handle(uow, budget_checked(snap["request_id"])) == "recorded over_budget"
    assert uow.published == []


async def test_a_cancellation_or_a_revision_ends_the_wait():
    uow = fake()
    snap = snapshot(category="budgeted")
    await handle(uow, submitted(snap))
    outcome = await handle(uow, cancelled(snap["request_id"]))
    assert outcome == "withdrew 0 chain(s); 1 submission(s) no longer wait for a budget check"
    await handle(uow, budget_checked(snap["request_id"]))
    assert uow.published == []

    other = snapshot(category="budgeted")
    await handle(uow, submitted(other))
    await handle(uow, revised(other["request_id"], 2, ["total"]))
    second = {**other, "revision": 2}
    await handle(uow, submitted(second))
    assert [r.revision for r in uow.pending.rows.values()] == [2]
    await handle(uow, budget_checked(other["request_id"], revision=1))
    assert uow.published == []
    await handle(uow, budget_checked(other["request_id"], revision=2, status="within_budget"))
    assert uow.types() == ["purchase_request.approved"]
    assert uow.events()[0].data["request"]["revision"] == 2


async def test_a_redelivered_check_changes_nothing():
    uow = fake()
    snap = snapshot(category="budgeted")
    await handle(uow, budget_checked(snap["request_id"], status="within_budget"))
    outcome = await handle(uow, budget_checked(snap["request_id"], status="over_budget"))
    assert outcome == "ignored: the check of this revision is known"
    assert uow.budget_checks.checks[(snap["request_id"], 1)].status == "within_budget"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"status": "overspent"}, "status"),
        ({"revision": 0}, "revision"),
        ({"request_id": ""}, "request_id"),
        ({"owner": {"name": "nobody"}}, "owner"),
        ({"over_by": "a lot"}, "over_by"),
    ],
)
async def test_a_check_that_does_not_fit_is_permanent(change, where):
    event = budget_checked("r-1")
    event = event.model_copy(update={"data": {**event.data, **change}})
    with pytest.raises(PermanentEventError, match=where):
        await HANDLERS["budget.checked"](event, fake())
