"""The approval chain aggregate: tasks per step, decisions, progression, withdrawal, escalation.

The chain records domain events in ``events``; the unit of work turns them into outbox rows at commit.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from backoffice_approvals.domain.calendar import BusinessHours
from backoffice_approvals.domain.errors import DecisionConflict, DecisionForbidden, InvalidDecision
from backoffice_approvals.domain.people import Person
from backoffice_approvals.domain.plan import PlannedStep

Decision = Literal["approved", "rejected", "changes_requested"]
Assigner = Callable[[Person, Collection[str]], tuple[Person, Person | None]]
IdFactory = Callable[[], str]

IN_PROGRESS = "in_progress"
OPEN = "open"


@dataclass
class Task:
    id: str
    step_index: int
    stage: int
    approver: Person
    assignee: Person
    on_behalf_of: Person | None
    due_at: datetime
    remind_at: datetime
    created_at: datetime
    status: str = OPEN
    decision: str | None = None
    comment: str | None = None
    decided_by: Person | None = None
    decided_on_behalf_of: Person | None = None
    decided_at: datetime | None = None
    closed_reason: str | None = None
    escalated_from: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


@dataclass(frozen=True)
class TaskAssigned:
    task: Task


@dataclass(frozen=True)
class TaskDecided:
    task: Task


@dataclass(frozen=True)
class TaskWithdrawn:
    task: Task
    reason: str


@dataclass(frozen=True)
class TaskEscalated:
    old: Task
    new: Task
    reason: str


@dataclass(frozen=True)
class ReminderDue:
    """Half the time (the step's reminder share) has passed and the task is still open."""

    task: Task


@dataclass(frozen=True)
class ChainApproved:
    approvers: list[Person]


@dataclass(frozen=True)
class ChainEnded:
    """Rejected or changes requested: the deciding task says which."""

    task: Task


@dataclass(frozen=True)
class ChainBlocked:
    """No task could be assigned (nobody may approve a step, not even the fallback): someone must act."""

    reason: str


DomainEvent = (
    TaskAssigned | TaskDecided | TaskWithdrawn | TaskEscalated | ReminderDue | ChainApproved | ChainEnded | ChainBlocked
)


@dataclass
class Chain:
    id: str
    request_id: str
    revision: int
    requester: Person
    snapshot: dict[str, Any]
    steps: list[PlannedStep]
    policy_version: int
    status: str = IN_PROGRESS
    reminder_share: float = 0.5
    tasks: list[Task] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)

    def tasks_of(self, step: PlannedStep) -> list[Task]:
        return [t for t in self.tasks if t.step_index == step.index]

    def approvals(self, step: PlannedStep) -> int:
        """Distinct people who approved the step: one person counts once, however many tasks they decided."""
        people = {p.id for p in step.carried_over}
        people.update(t.decided_by.id for t in self.tasks_of(step) if t.decision == "approved" and t.decided_by)
        return len(people)

    def satisfied(self, step: PlannedStep) -> bool:
        return self.approvals(step) >= step.required

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(task_id)

    def people_of_other_steps(self, step_index: int) -> set[str]:
        people = {self.requester.id}
        for step in self.steps:
            if step.index != step_index:
                people.update(p.id for p in step.approvers)
        for task in self.tasks:
            if task.step_index != step_index:
                people.add(task.assignee.id)
                if task.decided_by:
                    people.add(task.decided_by.id)
        return people

    def deciders_for_others_in_step(self, task: Task) -> set[str]:
        """Who may not decide ``task`` because they count for another approver of its step: that approver
        themself, and whoever decided that approver's task."""
        step = self.steps[task.step_index]
        people = {p.id for p in step.approvers if p.id != task.approver.id}
        people.update(p.id for p in step.carried_over if p.id != task.approver.id)
        for other in self.tasks_of(step):
            if other.approver.id != task.approver.id and other.decided_by is not None:
                people.add(other.decided_by.id)
        return people

    def excluded_for(self, task: Task) -> set[str]:
        """Who may not work ``task`` as a delegate: the requester, the people of the other steps, the other
        approvers of its step and whoever holds or decided another approver's task in it."""
        people = self.people_of_other_steps(task.step_index) | self.deciders_for_others_in_step(task)
        for other in self.tasks_of(self.steps[task.step_index]):
            if other.approver.id != task.approver.id and other.is_open:
                people.add(other.assignee.id)
        return people

    def _excluded_for_new(self, step: PlannedStep, approver: Person) -> set[str]:
        others = {p.id for p in step.approvers if p.id != approver.id}
        return self.people_of_other_steps(step.index) | others

    def start(self, *, now: datetime, assign: Assigner, new_id: IdFactory) -> None:
        self._advance(now=now, assign=assign, new_id=new_id)

    def block(self, *, reason: str) -> None:
        """The plan found no way through: the chain waits, blocked, and says why."""
        self.status = "blocked"
        self.events.append(ChainBlocked(reason))

    def _advance(self, *, now: datetime, assign: Assigner, new_id: IdFactory) -> None:
        pending = [s for s in self.steps if not self.satisfied(s)]
        if not pending:
            self.status = "approved"
            self.events.append(ChainApproved(self.approvers()))
            return
        stage = min(s.stage for s in pending)
        for step in pending:
            if step.stage != stage or self.tasks_of(step):
                continue
            for approver in step.approvers:
                if approver in step.carried_over:
                    continue
                assignee, on_behalf_of = assign(approver, self._excluded_for_new(step, approver))
                self._open_task(step, approver, assignee, on_behalf_of, now=now, new_id=new_id)

    def _open_task(
        self,
        step: PlannedStep,
        approver: Person,
        assignee: Person,
        on_behalf_of: Person | None,
        *,
        now: datetime,
        new_id: IdFactory,
        escalated_from: str | None = None,
    ) -> Task:
        share = step.reminder_share or self.reminder_share
        if step.business_hours:
            hours = BusinessHours.from_dict(step.business_hours)
            due_at, remind_at = hours.add(now, step.due_seconds), hours.add(now, step.due_seconds * share)
        else:
            due_at, remind_at = (
                now + timedelta(seconds=step.due_seconds),
                now + timedelta(seconds=step.due_seconds * share),
            )
        task = Task(
            id=new_id(),
            step_index=step.index,
            stage=step.stage,
            approver=approver,
            assignee=assignee,
            on_behalf_of=on_behalf_of,
            due_at=due_at,
            remind_at=remind_at,
            created_at=now,
            escalated_from=escalated_from,
        )
        self.tasks.append(task)
        self.events.append(TaskAssigned(task))
        return task

    def approvers(self) -> list[Person]:
        people: list[Person] = []
        for step in self.steps:
            for person in [
                *step.carried_over,
                *(t.decided_by for t in self.tasks_of(step) if t.decision == "approved"),
            ]:
                if person is not None and person not in people:
                    people.append(person)
        return people

    def decide(
        self,
        *,
        task_id: str,
        decision: Decision,
        comment: str | None,
        by: Person,
        on_behalf_of: Person | None,
        now: datetime,
        assign: Assigner,
        new_id: IdFactory,
    ) -> Task:
        task = self.task(task_id)
        if not task.is_open:
            raise DecisionConflict(f"the task is already {task.status}")
        if self.status != IN_PROGRESS:
            raise DecisionConflict(f"the chain is already {self.status}")
        if by.id == self.requester.id:
            raise DecisionForbidden("nobody approves their own request")
        others = self.people_of_other_steps(task.step_index) - {self.requester.id}
        if by.id in others:
            raise DecisionForbidden(f"{by.id} already fills another step of this chain")
        if by.id in self.deciders_for_others_in_step(task):
            raise DecisionForbidden(
                f"{by.id} already counts for another approver of step {self.steps[task.step_index].name}: "
                "a step needs distinct people"
            )
        if decision != "approved" and not (comment and comment.strip()):
            raise InvalidDecision("a comment is required to reject or to request changes")
        task.status = decision
        task.decision = decision
        task.comment = comment
        task.decided_by = by
        task.decided_on_behalf_of = on_behalf_of
        task.decided_at = now
        self.events.append(TaskDecided(task))
        step = self.steps[task.step_index]
        if decision != "approved":
            self.status = decision
            self._close_open(reason=f"the chain was {decision.replace('_', ' ')} by {by.id}")
            self.events.append(ChainEnded(task))
            return task
        if self.satisfied(step):
            self._close_open(reason=f"step {step.name} is complete", step_index=step.index)
            if all(self.satisfied(s) for s in self.steps if s.stage == step.stage):
                self._advance(now=now, assign=assign, new_id=new_id)
        return task

    def _close_open(self, *, reason: str, step_index: int | None = None) -> None:
        for task in self.tasks:
            if task.is_open and (step_index is None or task.step_index == step_index):
                task.status = "withdrawn"
                task.closed_reason = reason
                self.events.append(TaskWithdrawn(task, reason))

    def withdraw(self, *, reason: str) -> None:
        """The request was cancelled or revised: open tasks end and the chain stops."""
        if self.status not in (IN_PROGRESS, "blocked"):
            return
        self.status = "withdrawn"
        self._close_open(reason=reason)

    def remind(self, *, task_id: str) -> bool:
        """The reminder time of a task passed: a reminder is due while the task is open."""
        task = self.task(task_id)
        if not task.is_open:
            return False
        self.events.append(ReminderDue(task))
        return True

    def escalate(
        self, *, task_id: str, to: Person, on_behalf_of: Person | None, now: datetime, new_id: IdFactory, reason: str
    ) -> Task | None:
        """The deadline passed: the task moves to ``to`` (the assignee's manager) with a fresh due time."""
        task = self.task(task_id)
        if not task.is_open or self.status != IN_PROGRESS or to.id == task.assignee.id:
            return None
        task.status = "escalated"
        task.closed_reason = reason
        step = self.steps[task.step_index]
        new = self._open_task(step, task.approver, to, on_behalf_of, now=now, new_id=new_id, escalated_from=task.id)
        self.events.insert(len(self.events) - 1, TaskEscalated(task, new, reason))
        return new

    def reassign(
        self, *, task_id: str, to: Person, on_behalf_of: Person | None, now: datetime, new_id: IdFactory, reason: str
    ) -> Task | None:
        """An absence started: the open task is withdrawn and a new one, with the same deadline, goes to ``to``."""
        task = self.task(task_id)
        if not task.is_open or self.status != IN_PROGRESS or to.id == task.assignee.id:
            return None
        task.status = "reassigned"
        task.closed_reason = reason
        self.events.append(TaskWithdrawn(replace(task), reason))
        new = replace(
            task,
            id=new_id(),
            assignee=to,
            on_behalf_of=on_behalf_of,
            status=OPEN,
            closed_reason=None,
            escalated_from=task.id,
            created_at=now,
        )
        self.tasks.append(new)
        self.events.append(TaskAssigned(new))
        return new
