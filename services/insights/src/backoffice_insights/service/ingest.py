"""Events into the read model, idempotently and independently of arrival order.

Two steps. The consumer only *records* each event as a fact of its request (the event id is the
fact's primary key, so a redelivered event, or the same event arriving through a redrive, adds
nothing; the fact is the event's claim, in place of an inbox row: ``service.uow.InsightsUnitOfWork``)
and queues the request for folding, in the consumer's transaction.
The fold job then *refolds* each queued request once from all its facts, a batch of requests per
transaction, under the request's advisory lock. The view stays a function of the set of facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import structlog

from backoffice_common.events import CloudEvent, PermanentEventError
from backoffice_insights.domain.facts import Fact, Pending, VendorFact
from backoffice_insights.domain.fold import fold
from backoffice_insights.domain.view import RequestView

log = structlog.get_logger(__name__)


def request_id_of(event: CloudEvent) -> str:
    """The purchase request an event is about: its subject, else its ``request_id``, else its snapshot's."""
    data = event.data
    snapshot = data.get("request")
    candidates = [
        event.subject,
        data.get("request_id"),
        snapshot.get("request_id") if isinstance(snapshot, dict) else None,
    ]
    for candidate in candidates:
        if isinstance(candidate, str) and 0 < len(candidate) <= 200:
            return candidate
    raise PermanentEventError(f"{event.type} {event.id}: names no purchase request (no subject, no request_id)")


def request_fact(event: CloudEvent) -> Fact:
    """A request event as the fact the read model keeps."""
    return Fact(event.id, event.type, event.time, request_id_of(event), event.data)


class FactsPort(Protocol):
    async def record(self, f: Fact) -> bool: ...
    async def vendor(self, vendor_id: str) -> VendorFact | None: ...
    async def save_vendor(self, v: VendorFact) -> None: ...


class FoldQueuePort(Protocol):
    async def claim(self, limit: int) -> list[Pending]: ...
    async def claim_one(self, request_id: str) -> Pending | None: ...
    async def facts_of(self, request_ids: list[str]) -> dict[str, list[Fact]]: ...
    async def done(self, pending: list[Pending]) -> None: ...
    async def failed(self, pending: Pending, error: str) -> None: ...


class ViewsPort(Protocol):
    async def replace(self, request_ids: list[str], views: list[RequestView]) -> None: ...


class IngestUow(Protocol):
    @property
    def facts(self) -> FactsPort: ...


class FoldUow(Protocol):
    @property
    def fold_queue(self) -> FoldQueuePort: ...
    @property
    def views(self) -> ViewsPort: ...
    async def commit(self) -> None: ...


async def record_fact(*, uow: IngestUow, fact: Fact) -> str | None:
    """Store the fact and queue its request for folding (the consumer commits)."""
    if not await uow.facts.record(fact):
        return "duplicate"
    return None  # the inbox keeps its default outcome, one round trip less per event


async def record_vendor(*, uow: IngestUow, vendor: VendorFact) -> str:
    current = await uow.facts.vendor(vendor.vendor_id)
    if not vendor.newer_than(current):
        return "older than the vendor record kept"
    await uow.facts.save_vendor(vendor)
    return "vendor recorded"


@dataclass(frozen=True)
class Folded:
    claimed: int
    failed: int


async def fold_pending(*, uow: FoldUow, bands: list[Decimal], limit: int, only: str | None = None) -> Folded:
    """Refold up to ``limit`` queued requests (or just ``only``) in one transaction, which this commits.

    A request whose fold raises is marked failed (with the error) and left out; it is folded again
    when its next fact arrives. The others are folded and their queue rows removed.
    """
    queue = uow.fold_queue
    if only is not None:
        one = await queue.claim_one(only)
        pending = [one] if one is not None else []
    else:
        pending = await queue.claim(limit)
    if not pending:
        return Folded(0, 0)
    facts = await queue.facts_of([p.request_id for p in pending])
    views: list[RequestView] = []
    folded: list[Pending] = []
    failed = 0
    for p in pending:
        try:
            view = fold(facts.get(p.request_id, []), bands=bands)
        except Exception as exc:  # a pure fold that raises on odd data must not block the others
            log.error("insights.fold_failed", request_id=p.request_id, error=repr(exc))
            await queue.failed(p, repr(exc))
            failed += 1
            continue
        folded.append(p)
        if view is not None:
            views.append(view)
    await uow.views.replace([p.request_id for p in folded], views)
    await queue.done(folded)
    await uow.commit()
    return Folded(len(pending), failed)
