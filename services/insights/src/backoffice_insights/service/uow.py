"""The insights unit of work: its stores as attributes. It publishes nothing."""

from __future__ import annotations

from backoffice_common.uow import UnitOfWork
from backoffice_insights.repository.store import FactStore, FoldQueue, RateStore, ViewStore


class InsightsUnitOfWork(UnitOfWork):
    @property
    def facts(self) -> FactStore:
        return FactStore(self.session)

    @property
    def fold_queue(self) -> FoldQueue:
        return FoldQueue(self.session)

    @property
    def views(self) -> ViewStore:
        return ViewStore(self.session)

    @property
    def rates(self) -> RateStore:
        return RateStore(self.session)
