"""The insights unit of work: its stores as attributes. It publishes nothing.

A request's event is claimed by its fact: the fact's primary key is the event id, so storing the fact
(``FactStore.record``) says whether the event is new as the inbox's row would, in the same transaction.
``claim`` and ``claim_many`` store the facts of request events instead of inbox rows (one statement per
event instead of two), and the handler (``consumers.handlers``) finds the fact recorded and writes nothing.
The fact and its queue mark being the event's whole effect, that statement is committed on its own
(``FactStore.record_alone``: no BEGIN, no COMMIT; a redelivery after a failure later in the unit of work
finds the fact known, as it would after a commit). A batch that also holds other events keeps its facts
in the batch's transaction. Every other event (vendors, checklists) is claimed in the inbox as before."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from backoffice_common.events import CloudEvent
from backoffice_common.uow import UnitOfWork
from backoffice_insights.domain.facts import REQUEST_EVENT_TYPES
from backoffice_insights.repository.store import FactStore, FoldQueue, RateStore, ViewStore
from backoffice_insights.service.ingest import request_fact


class InsightsUnitOfWork(UnitOfWork):
    _recorded: set[str] | None = None

    async def __aenter__(self) -> Self:
        self._recorded = None
        return await super().__aenter__()

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

    def recorded(self, event_id: str) -> bool:
        """Whether this unit of work's claim stored the event's fact already."""
        return self._recorded is not None and event_id in self._recorded

    def _remember(self, event_ids: set[str]) -> None:
        if self._recorded is None:
            self._recorded = set()
        self._recorded.update(event_ids)

    async def claim(self, *, consumer: str, event: CloudEvent) -> bool:
        """A request event: its fact stored and its request queued for folding, in ONE statement committed on
        its own (no BEGIN, no COMMIT: the fact is the event's whole effect, its handler finds it recorded
        and writes nothing); False if the fact is known (the event was handled before). Others: the inbox."""
        if event.type not in REQUEST_EVENT_TYPES:
            return await super().claim(consumer=consumer, event=event)
        self._claimed_by = consumer
        if not await self.facts.record_alone(request_fact(event)):
            return False
        self._remember({event.id})
        return True

    async def claim_many(self, *, consumer: str, events: Sequence[CloudEvent]) -> set[str]:
        """``claim`` for a batch: the request events' facts in one statement, the others' inbox rows in one. A
        batch of request events only: the facts' statement committed on its own, as ``claim``'s; with other
        events (whose handlers write more) in the batch's transaction as before."""
        facts = [request_fact(e) for e in events if e.type in REQUEST_EVENT_TYPES]
        others = [e for e in events if e.type not in REQUEST_EVENT_TYPES]
        new = await super().claim_many(consumer=consumer, events=others) if others else set()
        self._claimed_by = consumer
        recorded = await self.facts.record_many(facts, alone=not others)
        self._remember(recorded)
        return new | recorded
