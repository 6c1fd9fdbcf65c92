"""The checklists unit of work: its repositories, and the checklists' recorded events turned into outbox rows."""

from __future__ import annotations

from typing import Self

from backoffice_checklists.domain.checklists import Checklist
from backoffice_checklists.repository.checklists import ChecklistRepository
from backoffice_checklists.repository.groups import GroupRepository
from backoffice_checklists.repository.templates import TemplateRepository
from backoffice_checklists.repository.timers import TimerRepository
from backoffice_common import topics
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.uow import UnitOfWork
from backoffice_common.wakeup import Bell

SERVICE = "checklists"
SCHEMA_VERSION = 1
SYSTEM_ACTOR = {"id": "system", "name": SERVICE, "role": "system"}
TIMER_BELL = Bell()
"""Rung after a commit that set a timer, with its due time: wakes this process's timer job if it
would otherwise sleep past it (``jobs.timer_job``)."""


class ChecklistsUnitOfWork(UnitOfWork):
    """``uow.checklists``, ``uow.templates``, ``uow.timers``, ``uow.groups``.

    The events of the tracked checklists are attributed to ``actor`` (the system unless a use case
    says who acted) and caused by ``cause`` (the consumed event, if any).
    """

    checklists: ChecklistRepository
    templates: TemplateRepository
    timers: TimerRepository
    groups: GroupRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.checklists = ChecklistRepository(self.session, track=self.track)
        self.templates = TemplateRepository(self.session)
        self.timers = TimerRepository(self.session)
        self.groups = GroupRepository(self.session)
        self.attribute_to()
        return self

    async def commit(self) -> None:
        await super().commit()
        earliest, self.timers.earliest = self.timers.earliest, None
        if earliest is not None:
            TIMER_BELL.ring(at=earliest.timestamp())  # wakes the job only if it would sleep past it

    def attribute_to(self, *, actor: dict[str, str] | None = None, cause: CloudEvent | None = None) -> None:
        self.actor = actor or SYSTEM_ACTOR
        self.cause = cause

    async def collect_events(self) -> None:
        for aggregate in self.seen:
            if not isinstance(aggregate, Checklist):
                continue
            for event in aggregate.take_events():
                data = {"schema_version": SCHEMA_VERSION, **event.data, "actor": self.actor}
                cloud = new_event(type=event.type, service=SERVICE, subject=event.subject, data=data, cause=self.cause)
                self.publish(cloud, topic=topics.CHECKLISTS, key=event.subject)
