"""The budgets unit of work: its repositories, and the tracked aggregates' events turned into outbox rows."""

from __future__ import annotations

from typing import Any

from backoffice_budgets.domain.ledger import DomainEvent
from backoffice_budgets.repository.budgets import BudgetRepository
from backoffice_budgets.repository.cost_centres import CostCentreRepository
from backoffice_budgets.repository.holds import HoldRepository
from backoffice_budgets.repository.pending import PendingRepository
from backoffice_budgets.repository.rates import RateRepository
from backoffice_budgets.repository.transfers import TransferRepository
from backoffice_common import topics
from backoffice_common.events import CloudEvent
from backoffice_common.uow import UnitOfWork

SERVICE = "budgets"
SCHEMA_VERSION = 1
SYSTEM_ACTOR = {"id": "system", "name": SERVICE, "role": "system"}


def cloud_event(event: DomainEvent) -> CloudEvent:
    """The CloudEvent of a domain event: correlated with, and caused by, the event that moved the money."""
    cause = event.cause
    return CloudEvent(
        source=f"backoffice/{SERVICE}",
        type=event.type,
        subject=event.subject,
        data={"schema_version": SCHEMA_VERSION, **event.data, "actor": SYSTEM_ACTOR},
        correlationid=cause.correlation_id or cause.event_id,
        causationid=cause.event_id,
    )


class BudgetsUnitOfWork(UnitOfWork):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    @property
    def cost_centres(self) -> CostCentreRepository:
        return CostCentreRepository(self.session)

    @property
    def budgets(self) -> BudgetRepository:
        return BudgetRepository(self.session)

    @property
    def holds(self) -> HoldRepository:
        return HoldRepository(self.session)

    @property
    def pending(self) -> PendingRepository:
        return PendingRepository(self.session)

    @property
    def rates(self) -> RateRepository:
        return RateRepository(self.session)

    @property
    def transfers(self) -> TransferRepository:
        return TransferRepository(self.session)

    async def collect_events(self) -> None:
        for aggregate in self.seen:
            for event in aggregate.take_events():
                message = cloud_event(event)
                if event.type == "cost_centre.updated":
                    self.publish(message, topic=topics.COST_CENTRES, key=event.subject)
                    continue
                if event.type == "budget.checked":
                    await self.holds.record_check(event, message.id)
                self.publish(message, topic=topics.BUDGETS, key=event.subject)
