"""The decision use case against a fake unit of work: what is committed and published, and what is refused."""

from datetime import UTC, datetime, timedelta

import pytest
from approvals_fakes import FakeUnitOfWork
from approvals_testkit import POLICY, directory, snapshot, submitted

from backoffice_approvals.domain.errors import DecisionConflict, DecisionForbidden, InvalidDecision, TaskNotFound
from backoffice_approvals.domain.people import Absence, Person
from backoffice_approvals.service.chains import start_chain
from backoffice_approvals.service.decisions import Decider, decide
from backoffice_approvals.settings import Settings

SETTINGS = Settings(exchange_rates={"USD": "0.9"}, budget_check_wait_seconds=0)


def as_(user_id: str, *, admin: bool = False) -> Decider:
    return Decider(Person(user_id, user_id.title(), f"{user_id}@example.com"), is_admin=admin)


async def started(uow: FakeUnitOfWork, **kw: object) -> tuple[dict, list[str]]:
    """A submitted request's chain, committed; the ids of its assigned tasks. The published list is emptied."""
    snap = snapshot(**kw)
    await start_chain(uow=uow, snapshot=snap, settings=SETTINGS, cause=submitted(snap))
    await uow.commit()
    task_ids = [e.data["task_id"] for e in uow.events("approval.task_assigned")]
    uow.published.clear()
    uow.committed = False
    return snap, task_ids


def fake() -> FakeUnitOfWork:
    return FakeUnitOfWork(directory=directory(), policy=POLICY)


async def test_the_assignee_approves_and_the_chain_is_approved_with_the_full_snapshot():
    uow = fake()
    snap, [task_id] = await started(uow)
    await decide(uow=uow, task_id=task_id, decider=as_("mike"), decision="approved", comment=None, reason=None)
    assert uow.committed
    assert uow.types() == ["approval.task_decided", "purchase_request.approved"]
    assert {topic for topic, _ in uow.published} == {"backoffice.approvals"}
    decided = uow.events("approval.task_decided")[0]
    assert decided.data["actor"] == {"id": "mike", "name": "Mike", "role": "approver"}
    assert decided.data["decided_by"]["id"] == "mike"
    approved = uow.events("purchase_request.approved")[0]
    assert approved.data["request"] == snap
    assert [p["id"] for p in approved.data["approvers"]] == ["mike"]
    assert uow.chains.task(task_id).status == "approved"


async def test_an_approval_completing_a_step_assigns_the_next_one_and_schedules_its_timers():
    uow = fake()
    _, [task_id] = await started(uow, total="20000")
    assert uow.chains.task(task_id).assignee.id == "dave"  # mike's limit is below the amount
    await decide(uow=uow, task_id=task_id, decider=as_("dave"), decision="approved", comment=None, reason=None)
    assert uow.types() == ["approval.task_decided", "approval.task_assigned"]
    assigned = uow.events("approval.task_assigned")[0]
    assert assigned.data["step"] == "head"
    assert assigned.data["assignee"]["id"] == "carol"
    task = uow.chains.task(assigned.data["task_id"])
    assert uow.timers.of(task.id) == [("reminder", task.remind_at), ("escalation", task.due_at)]


async def test_a_rejection_withdraws_the_open_tasks_and_tells_the_requester():
    uow = fake()
    _, task_ids = await started(uow, category="legal")
    lena = next(t for t in task_ids if uow.chains.task(t).assignee.id == "lena")
    await decide(uow=uow, task_id=lena, decider=as_("lena"), decision="rejected", comment="no budget", reason=None)
    assert uow.types() == [
        "approval.task_decided",
        "approval.task_withdrawn",
        "approval.task_withdrawn",
        "purchase_request.rejected",
    ]
    rejected = uow.events("purchase_request.rejected")[0]
    assert rejected.data["requester"]["id"] == "alice"
    assert rejected.data["comment"] == "no budget"
    assert {uow.chains.task(t).status for t in task_ids if t != lena} == {"withdrawn"}


async def test_requesting_changes_ends_the_chain_with_changes_requested():
    uow = fake()
    _, [task_id] = await started(uow)
    chain, _ = await decide(
        uow=uow, task_id=task_id, decider=as_("mike"), decision="changes_requested", comment="quote?", reason=None
    )
    assert chain.status == "changes_requested"
    assert uow.types() == ["approval.task_decided", "purchase_request.changes_requested"]


async def test_an_admin_with_a_reason_decides_for_the_assignee_and_is_named_as_such():
    uow = fake()
    _, [task_id] = await started(uow)
    await decide(
        uow=uow, task_id=task_id, decider=as_("root", admin=True), decision="approved", comment=None, reason="away"
    )
    decided = uow.events("approval.task_decided")[0]
    assert decided.data["actor"]["role"] == "admin"
    assert decided.data["on_behalf_of"]["id"] == "mike"
    assert uow.chains.task(task_id).closed_reason == "decided by the admin root: away"


async def test_the_active_delegate_of_the_assignee_decides_on_their_behalf():
    uow = fake()
    _, [task_id] = await started(uow)
    now = datetime.now(UTC)
    await uow.absences.add(
        Absence("mike", now - timedelta(hours=1), now + timedelta(hours=1), "dina", id="a1"), created_by="mike"
    )
    await decide(uow=uow, task_id=task_id, decider=as_("dina"), decision="approved", comment=None, reason=None)
    task = uow.chains.task(task_id)
    assert (task.decided_by.id, task.decided_on_behalf_of.id) == ("dina", "mike")


@pytest.mark.parametrize(
    ("decider", "reason", "refusal", "message"),
    [
        (as_("lena"), None, DecisionForbidden, "only the assignee"),
        (as_("root", admin=True), None, InvalidDecision, "must give a reason"),
    ],
)
async def test_a_decision_by_someone_else_is_refused_and_nothing_is_committed(decider, reason, refusal, message):
    uow = fake()
    _, [task_id] = await started(uow)
    with pytest.raises(refusal, match=message):
        await decide(uow=uow, task_id=task_id, decider=decider, decision="approved", comment=None, reason=reason)
    assert not uow.committed
    assert uow.published == []
    assert uow.chains.task(task_id).is_open


async def test_the_requester_never_decides_their_own_request_even_as_an_admin():
    uow = fake()
    _, [task_id] = await started(uow, requester="bob")
    with pytest.raises(DecisionForbidden, match="nobody approves their own request"):
        await decide(
            uow=uow, task_id=task_id, decider=as_("bob", admin=True), decision="approved", comment=None, reason="mine"
        )
    assert not uow.committed
    assert uow.published == []


async def test_a_task_already_decided_is_a_conflict():
    uow = fake()
    _, [task_id] = await started(uow)
    await decide(uow=uow, task_id=task_id, decider=as_("mike"), decision="approved", comment=None, reason=None)
    uow.published.clear()
    uow.committed = False
    with pytest.raises(DecisionConflict, match="already approved"):
        await decide(uow=uow, task_id=task_id, decider=as_("mike"), decision="rejected", comment="no", reason=None)
    assert not uow.committed
    assert uow.published == []


async def test_an_unknown_task_is_not_found():
    with pytest.raises(TaskNotFound):
        await decide(uow=fake(), task_id="nope", decider=as_("mike"), decision="approved", comment=None, reason=None)


async def test_a_decided_task_and_the_tasks_withdrawn_with_it_have_their_timers_closed():
    uow = fake()
    _, task_ids = await started(uow, category="legal")
    lena = next(t for t in task_ids if uow.chains.task(t).assignee.id == "lena")
    open_timers = [t for t in uow.timers.timers if t.ref_id in task_ids]
    assert open_timers
    assert all(t.fired_at is None for t in open_timers)

    await decide(uow=uow, task_id=lena, decider=as_("lena"), decision="rejected", comment="not now", reason=None)

    assert all(t.fired_at is not None for t in open_timers), "no decided or withdrawn task keeps a due timer"
