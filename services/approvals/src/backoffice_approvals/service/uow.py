"""The approvals unit of work: its repositories, and the chains' recorded events turned into outbox rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Self

from backoffice_approvals.domain.chain import Chain, TaskAssigned, TaskDecided, TaskEscalated, TaskWithdrawn
from backoffice_approvals.repository.budgets import BudgetCheckRepository, PendingRouteRepository
from backoffice_approvals.repository.chains import ChainRepository
from backoffice_approvals.repository.people import AbsenceRepository, DirectoryRepository
from backoffice_approvals.repository.policies import PolicyRepository
from backoffice_approvals.repository.timers import TimerRepository
from backoffice_approvals.service.events import SERVICE, SYSTEM_ACTOR, cloud_event_data
from backoffice_common import topics
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.uow import UnitOfWork
from backoffice_common.wakeup import Bell

TIMER_BELL = Bell()
"""Rung after a unit of work of this process that scheduled a timer committed: the timer job, asleep
until the earliest timer it knew of, looks again if the new timer falls due before that
(``backoffice_approvals.jobs.timer_job``)."""


class ApprovalsUnitOfWork(UnitOfWork):
    """``uow.chains``, ``uow.directory``, ``uow.absences``, ``uow.policies``, ``uow.timers``,
    ``uow.budget_checks``, ``uow.pending``.

    The events of the tracked chains are attributed to ``actor`` (the system unless a use case
    says who acted) and caused by ``cause`` (the consumed event, if any): one unit of work is one
    command or one event, so they hold for everything it publishes.
    """

    chains: ChainRepository
    directory: DirectoryRepository
    absences: AbsenceRepository
    policies: PolicyRepository
    timers: TimerRepository
    budget_checks: BudgetCheckRepository
    pending: PendingRouteRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.chains = ChainRepository(self.session, track=self.track)
        self.directory = DirectoryRepository(self.session)
        self.absences = AbsenceRepository(self.session)
        self.policies = PolicyRepository(self.session)
        self.timers = TimerRepository(self.session)
        self.budget_checks = BudgetCheckRepository(self.session)
        self.pending = PendingRouteRepository(self.session)
        self.attribute_to()
        return self

    async def commit(self) -> None:
        await super().commit()
        earliest, self.timers.earliest = self.timers.earliest, None
        if earliest is not None:
            TIMER_BELL.ring(at=earliest.timestamp())  # wakes the job only if it would sleep past it

    def attribute_to(self, *, actor: dict[str, str] | None = None, cause: CloudEvent | None = None) -> None:
        """Who acted (for the events' ``actor``) and which event caused this unit of work."""
        self.actor = actor or SYSTEM_ACTOR
        self.cause = cause

    async def collect_events(self) -> None:
        """Queue the tracked chains' recorded events on the outbox; schedule the timers of new tasks and close
        those of tasks that are no longer open (decided, withdrawn, escalated to someone else)."""
        for chain in self.seen:
            if not isinstance(chain, Chain):
                continue
            for event in chain.events:
                type_, data = cloud_event_data(chain, event, self.actor)
                cloud = new_event(type=type_, service=SERVICE, subject=chain.request_id, data=data, cause=self.cause)
                self.publish(cloud, topic=topics.APPROVALS)
                if isinstance(event, TaskAssigned):
                    await self.timers.schedule(kind="reminder", ref_id=event.task.id, fire_at=event.task.remind_at)
                    await self.timers.schedule(kind="escalation", ref_id=event.task.id, fire_at=event.task.due_at)
                elif isinstance(event, TaskDecided | TaskWithdrawn):
                    await self.timers.close_for_task(event.task.id, now=datetime.now(UTC))
                elif isinstance(event, TaskEscalated):
                    await self.timers.close_for_task(event.old.id, now=datetime.now(UTC))
            chain.events.clear()
