"""The contracts unit of work: its repositories, and the contract events it turns into CloudEvents at commit.

The cause (the consumed event a use case reacts to, or none for an API call or a timer) is a fact of the
transaction, not of the aggregate: every event recorded in one unit of work has the same cause. So the use case
tells the unit of work (``caused_by``), the aggregate records plain domain events, and ``collect_events`` builds
each CloudEvent with that cause (causation id = the cause's id, correlation id inherited from it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Self

from backoffice_common import topics
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.objectstore import ObjectStore
from backoffice_common.uow import UnitOfWork
from backoffice_common.wakeup import Bell
from backoffice_contracts.domain.contract import Contract
from backoffice_contracts.repository import (
    ApprovalRepository,
    CancellationRepository,
    ContractRepository,
    TemplateRepository,
    VendorRepository,
)

SERVICE = "contracts"

EXPIRY_BELL = Bell()
"""Rung after a commit that wrote a contract's ``expires_at``, with it: wakes this process's expiry job
if it would otherwise sleep past it (``backoffice_contracts.jobs.expiry_job``)."""


def cloud_events(aggregates: Iterable[Any], *, cause: CloudEvent | None) -> list[CloudEvent]:
    """The CloudEvents of the contract events the aggregates recorded (each pulled once), in recording order."""
    return [
        new_event(
            type=event.type,
            service=SERVICE,
            subject=event.request_id,
            data={"schema_version": 1, **event.data},
            cause=cause,
        )
        for aggregate in aggregates
        if isinstance(aggregate, Contract)
        for event in aggregate.pull_events()
    ]


class ContractsUnitOfWork(UnitOfWork):
    contracts: ContractRepository
    templates: TemplateRepository
    vendors: VendorRepository
    cancellations: CancellationRepository
    approvals: ApprovalRepository
    store: ClassVar[ObjectStore | None] = None
    """Where the PDFs are kept; set by ``with_store`` in the composition root."""

    @classmethod
    def with_store(cls, store: ObjectStore) -> type[ContractsUnitOfWork]:
        """This unit of work with its PDFs kept in ``store`` (the shared runtime builds units of work by class)."""
        return type(cls.__name__, (cls,), {"store": store})

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.contracts = ContractRepository(self.session, track=self.track, store=self.store)
        self.templates = TemplateRepository(self.session)
        self.vendors = VendorRepository(self.session)
        self.cancellations = CancellationRepository(self.session)
        self.approvals = ApprovalRepository(self.session)
        self.cause: CloudEvent | None = None
        return self

    async def commit(self) -> None:
        await super().commit()
        earliest, self.contracts.earliest_expiry = self.contracts.earliest_expiry, None
        if earliest is not None:
            EXPIRY_BELL.ring(at=earliest.timestamp())  # wakes the job only if it would sleep past it

    def caused_by(self, event: CloudEvent | None) -> None:
        """The event this unit of work reacts to; the events it publishes carry it as their cause."""
        self.cause = event

    async def collect_events(self) -> None:
        for event in cloud_events(self.seen, cause=self.cause):
            self.publish(event, topic=topics.CONTRACTS)
