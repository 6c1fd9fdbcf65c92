"""Starting and withdrawing chains through the consumers' handlers, against a fake unit of work."""

import pytest
from approvals_fakes import FakeUnitOfWork
from approvals_testkit import POLICY, cancelled, directory, revised, snapshot, submitted

from backoffice_approvals.consumers import build_handlers
from backoffice_approvals.service.decisions import Decider, decide
from backoffice_approvals.settings import Settings
from backoffice_common.consumer import PermanentEventError
from backoffice_common.events import CloudEvent

HANDLERS = build_handlers(Settings(exchange_rates={"USD": "0.9"}, budget_check_wait_seconds=0))


async def handle(uow: FakeUnitOfWork, event: CloudEvent) -> str | None:
    """As the consumer does: the handler, then the commit of its unit of work."""
    outcome = await HANDLERS[event.type](event, uow)
    await uow.commit()
    return outcome


def fake() -> FakeUnitOfWork:
    return FakeUnitOfWork(directory=directory(), policy=POLICY)


async def test_a_submitted_request_starts_a_chain_assigned_to_the_manager_with_its_timers():
    uow = fake()
    snap = snapshot()
    event = submitted(snap)
    outcome = await handle(uow, event)
    [assigned] = uow.events()
    assert assigned.type == "approval.task_assigned"
    assert assigned.data["assignee"]["id"] == "mike"
    assert assigned.data["actor"]["role"] == "system"
    assert (assigned.causationid, assigned.correlationid) == (event.id, event.correlationid)
    assert assigned.subject == snap["request_id"]
    task = uow.chains.task(assigned.data["task_id"])
    assert uow.timers.of(task.id) == [("reminder", task.remind_at), ("escalation", task.due_at)]
    assert outcome is not None
    assert outcome.endswith("in_progress")


async def test_a_chain_that_cannot_be_routed_is_blocked_and_says_so_in_an_event():
    uow = fake()
    snap = snapshot(requester="admin")  # no manager, and the fallback approver may not approve their own
    event = submitted(snap)
    outcome = await handle(uow, event)
    assert outcome is not None
    assert outcome.endswith("blocked")
    [blocked] = uow.events()
    assert blocked.type == "approval.chain_blocked"
    assert blocked.subject == snap["request_id"]
    assert "nobody may approve" in blocked.data["reason"]
    assert blocked.data["requester"]["id"] == snap["requester"]["id"]
    assert (blocked.data["revision"], blocked.data["request_number"]) == (1, snap["number"])
    assert blocked.causationid == event.id


@pytest.mark.parametrize("total", ["12,50", "NaN", "Infinity", ""])
async def test_a_total_that_is_no_decimal_blocks_the_chain_cleanly_instead_of_crashing(total: str):
    uow = fake()
    snap = snapshot(total=total)
    outcome = await handle(uow, submitted(snap))
    assert outcome is not None
    assert outcome.endswith("blocked")
    [blocked] = uow.events()
    assert blocked.type == "approval.chain_blocked"
    assert blocked.data["reason"] == f"the request total {total!r} is not a decimal"


async def test_a_duplicate_submitted_event_starts_nothing_more():
    uow = fake()
    snap = snapshot()
    await handle(uow, submitted(snap))
    uow.published.clear()
    outcome = await handle(uow, submitted(snap))
    assert outcome is not None
    assert outcome.startswith("ignored")
    assert uow.published == []
    assert len(uow.chains.stored) == 1


async def test_cancelling_a_request_withdraws_its_open_tasks():
    uow = fake()
    snap = snapshot(category="legal")
    await handle(uow, submitted(snap))
    uow.published.clear()
    event = cancelled(snap["request_id"])
    assert await handle(uow, event) == "withdrew 1 chain(s)"
    withdrawn = uow.events("approval.task_withdrawn")
    assert len(withdrawn) == 3
    assert uow.types() == ["approval.task_withdrawn"] * 3
    assert {e.data["reason"] for e in withdrawn} == {"request cancelled: not needed any more"}
    assert {e.causationid for e in withdrawn} == {event.id}
    [chain] = uow.chains.stored.values()
    assert chain.status == "withdrawn"
    assert not any(t.is_open for t in chain.tasks)


async def test_a_new_revision_carries_over_an_unchanged_approval_and_asks_the_others_again():
    uow = fake()
    snap = snapshot(category="legal")
    await handle(uow, submitted(snap))
    tasks = {e.data["assignee"]["id"]: e.data["task_id"] for e in uow.events("approval.task_assigned")}
    mike = Decider(uow.chains.task(tasks["mike"]).assignee)
    await decide(uow=uow, task_id=tasks["mike"], decider=mike, decision="approved", comment=None, reason=None)
    lena = Decider(uow.chains.task(tasks["lena"]).assignee)
    await decide(uow=uow, task_id=tasks["lena"], decider=lena, decision="changes_requested", comment="x", reason=None)
    uow.published.clear()
    await handle(uow, revised(snap["request_id"], 2, ["description"]))
    await handle(uow, submitted({**snap, "revision": 2, "description": "better"}))
    assert sorted(e.data["assignee"]["id"] for e in uow.events("approval.task_assigned")) == ["lars", "lena"]
    newest = max(uow.chains.stored.values(), key=lambda c: c.revision)
    assert [p.id for p in newest.steps[0].carried_over] == ["mike"]


@pytest.mark.parametrize(
    "event",
    [
        submitted(snapshot(title="nul \u0000 title")),
        submitted({**snapshot(), "revision": "2"}),
        cancelled("r-1").model_copy(update={"data": {"request_id": "r-1"}}),
    ],
    ids=["nul-in-snapshot", "revision-not-an-integer", "cancelled-without-revision"],
)
async def test_an_event_that_can_never_be_handled_is_permanent_and_changes_nothing(event):
    uow = fake()
    with pytest.raises(PermanentEventError):
        await HANDLERS[event.type](event, uow)
    assert uow.chains.stored == {}
    assert uow.queued == []
