"""Timers firing as use cases against a fake unit of work: reminder, escalation, absence start, failure."""

from datetime import UTC, datetime, timedelta

from approvals_fakes import FakeUnitOfWork
from approvals_testkit import POLICY, directory, snapshot, submitted

from backoffice_approvals.domain.chain import Chain, Task
from backoffice_approvals.domain.people import Absence, Person
from backoffice_approvals.jobs import idle_wait
from backoffice_approvals.service.chains import start_chain
from backoffice_approvals.service.timers import fire_due_timer
from backoffice_approvals.settings import Settings

SETTINGS = Settings(exchange_rates={"USD": "0.9"}, budget_check_wait_seconds=0)
NOW = datetime.now(UTC)


async def started(uow: FakeUnitOfWork, **kw: object) -> str:
    snap = snapshot(**kw)
    await start_chain(uow=uow, snapshot=snap, settings=SETTINGS, cause=submitted(snap))
    await uow.commit()
    [task_id] = [e.data["task_id"] for e in uow.events("approval.task_assigned")]
    uow.published.clear()
    return task_id


def due(uow: FakeUnitOfWork, ref_id: str, kind: str, ago: timedelta) -> None:
    timer = next(t for t in uow.timers.timers if t.ref_id == ref_id and t.kind == kind)
    timer.fire_at = NOW - ago


async def fire(uow: FakeUnitOfWork) -> bool:
    uow.committed = False
    return await fire_due_timer(uow_factory=lambda: uow, settings=SETTINGS)


def fake() -> FakeUnitOfWork:
    return FakeUnitOfWork(directory=directory(), policy=POLICY)


async def test_a_waiting_task_is_reminded_then_escalated_to_the_assignees_manager():
    uow = fake()
    task_id = await started(uow, requester="fred", category="fast")
    due(uow, task_id, "reminder", timedelta(minutes=2))
    due(uow, task_id, "escalation", timedelta(minutes=1))

    assert await fire(uow)
    assert uow.committed
    [reminder] = uow.events()
    assert reminder.type == "approval.reminder_due"
    assert (reminder.data["task_id"], reminder.data["assignee"]["id"]) == (task_id, "max")

    uow.published.clear()
    assert await fire(uow)
    assert uow.committed
    assert uow.types() == ["approval.escalated", "approval.task_assigned"]
    escalated = uow.events("approval.escalated")[0]
    assert (escalated.data["from"]["id"], escalated.data["to"]["id"]) == ("max", "dave")
    assert uow.chains.task(task_id).status == "escalated"
    new_task = escalated.data["new_task_id"]
    assert [kind for kind, _ in uow.timers.of(new_task)] == ["reminder", "escalation"]
    assert [t.fired_at is not None for t in uow.timers.timers if t.ref_id == task_id] == [True, True]

    uow.published.clear()
    assert not await fire(uow)
    assert uow.published == []


async def test_no_reminder_goes_out_for_a_task_that_was_decided():
    uow = fake()
    task_id = await started(uow)
    [chain] = uow.chains.stored.values()
    chain.tasks[0].status = "approved"
    due(uow, task_id, "reminder", timedelta(minutes=1))
    assert await fire(uow)
    assert uow.published == []


async def test_open_tasks_move_to_the_delegate_when_an_absence_starts():
    uow = fake()
    task_id = await started(uow)
    absence = Absence("mike", NOW - timedelta(seconds=1), NOW + timedelta(days=1), "dina", id="away-1")
    await uow.absences.add(absence, created_by="mike")
    await uow.timers.schedule(kind="absence_start", ref_id="away-1", fire_at=absence.starts_at)
    assert await fire(uow)
    assert uow.committed
    assert uow.types() == ["approval.task_withdrawn", "approval.task_assigned"]
    assigned = uow.events("approval.task_assigned")[0]
    assert (assigned.data["assignee"]["id"], assigned.data["on_behalf_of"]["id"]) == ("dina", "mike")
    assert uow.chains.task(task_id).status == "reassigned"


async def test_a_timer_that_fails_is_postponed_with_its_error_and_publishes_nothing():
    uow = fake()
    mike = Person("mike", "Mike", "mike@example.com")
    task = Task("t-1", 0, 0, mike, mike, None, due_at=NOW, remind_at=NOW, created_at=NOW)
    broken = Chain("c-1", "r-1", 1, mike, {}, steps=[], policy_version=1, tasks=[task])  # its plan lost its steps
    await uow.chains.add(broken, notes=[], blocked_reason=None)
    uow.seen = []
    await uow.timers.schedule(kind="escalation", ref_id="t-1", fire_at=NOW - timedelta(minutes=5))
    assert await fire(uow)
    assert uow.committed
    [timer] = uow.timers.timers
    assert timer.attempts == 1
    assert "IndexError" in (timer.last_error or "")
    assert timer.fired_at is None
    assert uow.published == []


async def test_the_idle_timer_job_sleeps_until_the_earliest_timer_and_no_longer_than_the_fallback() -> None:
    uow = fake()
    settings = SETTINGS.model_copy(update={"timer_poll_seconds": 1.0, "timer_idle_poll_seconds": 60.0})
    assert await idle_wait(lambda: uow, settings) == 60.0  # no timer at all: the fallback
    await uow.timers.schedule(kind="absence_start", ref_id="later", fire_at=datetime.now(UTC) + timedelta(hours=2))
    assert await idle_wait(lambda: uow, settings) == 60.0
    await uow.timers.schedule(kind="absence_start", ref_id="soon", fire_at=datetime.now(UTC) + timedelta(seconds=20))
    assert 19.0 < await idle_wait(lambda: uow, settings) <= 20.0
    await uow.timers.schedule(kind="absence_start", ref_id="held", fire_at=datetime.now(UTC) - timedelta(seconds=5))
    assert await idle_wait(lambda: uow, settings) == 1.0  # due, but another instance holds it: the short poll
