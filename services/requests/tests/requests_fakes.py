"""A fake unit of work for the use-case tests: in-memory repositories, no database, no broker.

``FakeUnitOfWork`` is the service's own ``RequestsUnitOfWork`` with its repositories swapped for
in-memory ones, so ``commit`` runs the real ``collect_events`` (recorded events -> CloudEvents,
outbox topic, timeline rows). A ``FakeStore`` plays the database: it outlives each unit of work.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from backoffice_common.events import CloudEvent
from backoffice_common.uow import UnitOfWork
from backoffice_requests.domain.model import Actor, PurchaseRequest
from backoffice_requests.service.uow import RequestsUnitOfWork


class FakeRequests:
    def __init__(self, store: FakeStore, track: Any) -> None:
        self.store = store
        self._track = track

    async def next_number(self) -> str:
        self.store.numbers += 1
        return f"PR-{self.store.numbers:06d}"

    async def get(self, request_id: str, *, for_update: bool = False) -> PurchaseRequest | None:
        stored = self.store.requests.get(request_id)
        if stored is None:
            return None
        request = copy.deepcopy(stored)
        self._track(request)
        return request

    async def status_for_update(self, request_id: str) -> str | None:
        stored = self.store.requests.get(request_id)
        return None if stored is None else stored.status.value

    @staticmethod
    def plain_update(request: PurchaseRequest) -> tuple[Any, ...] | None:
        return None  # the fake saves the aggregate itself (``save``)

    async def ids_of_vendor(self, vendor_id: str, *, statuses: Any) -> list[str]:
        wanted = {str(s) for s in statuses}
        return [
            rid for rid, r in self.store.requests.items() if r.content.vendor_id == vendor_id and r.status in wanted
        ]

    async def add(self, request: PurchaseRequest, *, actor: Actor) -> None:
        self._keep(request, actor)
        self._track(request)

    async def save(self, request: PurchaseRequest, *, actor: Actor) -> None:
        self._keep(request, actor)

    def _keep(self, request: PurchaseRequest, actor: Actor) -> None:
        if request.new_revisions or request.draft_edited:
            self.store.revisions[(request.id, request.revision)] = (request.content, actor)
        request.new_revisions.clear()
        request.draft_edited = False
        kept = copy.deepcopy(request)
        kept.events = []  # the table holds no events: they are collected from the live aggregate
        self.store.requests[request.id] = kept


class FakeTimeline:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def add(
        self, *, request_id: str, event: CloudEvent, actor: dict[str, Any], outcome: str, note: str, status_after: str
    ) -> None:
        if any(e["event_id"] == event.id for e in self.store.timeline):
            return
        self.store.timeline.append(
            {
                "request_id": request_id,
                "event_id": event.id,
                "type": event.type,
                "actor": actor,
                "outcome": outcome,
                "note": note,
                "status_after": status_after,
            }
        )

    async def add_reading_deferred(
        self,
        *,
        request_id: str,
        event: CloudEvent,
        actor: dict[str, Any],
        outcome: str,
        note: str,
        status_after: str,
        saving: tuple[Any, ...] | None = None,
    ) -> list[CloudEvent]:
        await self.add(
            request_id=request_id, event=event, actor=actor, outcome=outcome, note=note, status_after=status_after
        )
        events = [deferred for rid, deferred in self.store.deferred.values() if rid == request_id]
        return sorted(events, key=lambda e: e.time)

    async def record_under_lock(
        self,
        *,
        request_id: str,
        event: CloudEvent,
        actor: dict[str, Any],
        note: str,
        approvers: Any = (),
        task_id: str = "",
        buyer_signers: Any = (),
    ) -> str | None:
        stored = self.store.requests.get(request_id)
        if stored is None:
            return None
        self.store.assignments.update((request_id, user_id) for user_id in approvers)
        self.store.buyer_signers.update((request_id, user_id) for user_id in buyer_signers)
        status: str = stored.status.value
        await self.add(
            request_id=request_id, event=event, actor=actor, outcome="recorded", note=note, status_after=status
        )
        return status

    async def update(self, *, event_id: str, outcome: str, note: str, status_after: str | None = None) -> None:
        for entry in self.store.timeline:
            if entry["event_id"] == event_id:
                entry.update(outcome=outcome, note=note)
                if status_after is not None:
                    entry["status_after"] = status_after

    async def entries(self, *, request_id: str) -> list[dict[str, Any]]:
        return [e for e in self.store.timeline if e["request_id"] == request_id]


class FakeApprovers:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def remember(self, *, request_id: str, user_id: str, task_id: str) -> None:
        self.store.assignments.add((request_id, user_id))

    async def is_assigned(self, *, request_id: str, user_id: str) -> bool:
        return (request_id, user_id) in self.store.assignments


class FakeBuyerSigners:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def remember(self, *, request_id: str, user_id: str) -> None:
        self.store.buyer_signers.add((request_id, user_id))

    async def of_request(self, request_id: str) -> frozenset[str]:
        return frozenset(user for request, user in self.store.buyer_signers if request == request_id)


class FakeDeferred:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def add(self, *, request_id: str, event: CloudEvent) -> None:
        self.store.deferred.setdefault(event.id, (request_id, event))

    async def of_request(self, request_id: str) -> list[CloudEvent]:
        events = [event for rid, event in self.store.deferred.values() if rid == request_id]
        return sorted(events, key=lambda e: e.time)

    async def remove(self, event_id: str) -> None:
        self.store.deferred.pop(event_id, None)


class FakeVendors:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def upsert(self, *, vendor_id: str, status: str, record: dict[str, Any], updated_at: str) -> bool:
        kept = self.store.vendors.get(vendor_id)
        if kept is not None and kept[1] > updated_at:
            return False
        self.store.vendors[vendor_id] = (status, updated_at)
        return True

    async def status_of(self, vendor_id: str) -> str | None:
        kept = self.store.vendors.get(vendor_id)
        return kept[0] if kept else None


class FakeCostCentres:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def upsert(self, *, cost_center: str, active: bool, record: dict[str, Any], updated_at: str) -> bool:
        kept = self.store.cost_centres.get(cost_center)
        if kept is not None and kept[1] > updated_at:
            return False
        self.store.cost_centres[cost_center] = (active, updated_at)
        return True

    async def active_of(self, cost_center: str) -> bool | None:
        kept = self.store.cost_centres.get(cost_center)
        return kept[0] if kept else None


@dataclass
class FakeStore:
    """What the database would hold, shared by the units of work of one test."""

    requests: dict[str, PurchaseRequest] = field(default_factory=dict)
    revisions: dict[tuple[str, int], Any] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    assignments: set[tuple[str, str]] = field(default_factory=set)
    buyer_signers: set[tuple[str, str]] = field(default_factory=set)
    deferred: dict[str, tuple[str, CloudEvent]] = field(default_factory=dict)
    vendors: dict[str, tuple[str, str]] = field(default_factory=dict)
    cost_centres: dict[str, tuple[bool, str]] = field(default_factory=dict)
    numbers: int = 0

    def timeline_of(self, request_id: str) -> list[dict[str, Any]]:
        return [e for e in self.timeline if e["request_id"] == request_id]


class FakeSession:
    """Only what the base unit of work calls on its session: the transaction's end."""

    def __init__(self) -> None:
        self.committed = False

    def in_transaction(self) -> bool:
        return not self.committed

    async def commit(self) -> None:
        self.committed = True

    async def rollback(self) -> None:
        pass

    async def close(self) -> None:
        pass


class FakeUnitOfWork(RequestsUnitOfWork):
    def __init__(self, store: FakeStore) -> None:
        super().__init__(FakeSession, tables=None, service="requests")  # type: ignore[arg-type]
        self.store = store
        self.committed = False
        self.published: list[tuple[str, CloudEvent]] = []

    async def __aenter__(self) -> FakeUnitOfWork:
        await UnitOfWork.__aenter__(self)  # a session, but not the SQL repositories
        self.requests = FakeRequests(self.store, self.track)  # type: ignore[assignment]
        self.timeline = FakeTimeline(self.store)  # type: ignore[assignment]
        self.approvers = FakeApprovers(self.store)  # type: ignore[assignment]
        self.buyer_signers = FakeBuyerSigners(self.store)  # type: ignore[assignment]
        self.deferred = FakeDeferred(self.store)  # type: ignore[assignment]
        self.vendors = FakeVendors(self.store)  # type: ignore[assignment]
        self.cost_centres = FakeCostCentres(self.store)  # type: ignore[assignment]
        return self

    async def flush_events(self) -> None:
        self.published.extend((topic, event) for topic, _, event in self._pending)
        self._pending = []

    async def commit(self) -> None:
        await super().commit()
        self.committed = True

    @property
    def published_types(self) -> list[str]:
        return [event.type for _, event in self.published]
