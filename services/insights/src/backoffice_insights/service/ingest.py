"""Events into the read model, idempotently and independently of arrival order.

Two steps. The consumer only *records* each event as a fact of its request (the event id is the
fact's primary key, so a redelivered event, or the same event arriving through a redrive, adds
nothing; the fact is the event's claim, in place of an inbox row: ``service.uow.InsightsUnitOfWork``)
and queues the request for folding, in the consumer's transaction.
The fold job then *refolds* each queued request once from all its facts, a batch of requests per
transaction, under the request's advisory lock. The view stays a function of the set of facts.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import structlog

from backoffice_common.events import CloudEvent, PermanentEventError
from backoffice_insights.domain.facts import Fact, Pending, VendorFact
from backoffice_insights.domain.fold import fold
from backoffice_insights.domain.view import RequestView
from backoffice_insights.repository.store import VIEW_TABLES, Rows, view_rows

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
    async def save_vendor_if_newer(self, v: VendorFact) -> bool: ...


class FoldQueuePort(Protocol):
    async def claim(self, limit: int) -> list[Pending]: ...
    async def claim_one(self, request_id: str) -> Pending | None: ...
    async def facts_of(self, request_ids: list[str]) -> dict[str, list[Fact]]: ...
    async def facts_and_stored(self, request_ids: list[str]) -> tuple[dict[str, list[Fact]], dict[str, int]]: ...
    async def done(self, pending: list[Pending]) -> None: ...
    async def failed(self, pending: Pending, error: str) -> None: ...


class ViewsPort(Protocol):
    async def replace(self, request_ids: list[str], views: list[RequestView]) -> None: ...
    async def write(
        self, deleted: dict[str, list[str]], inserted: dict[str, list[tuple[Any, ...]]], done: list[Pending]
    ) -> None: ...


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
    """The newest ``vendor.updated`` by event time wins (``VendorFact.newer_than``), in one statement."""
    if not await uow.facts.save_vendor_if_newer(vendor):
        return "older than the vendor record kept"
    return "vendor recorded"


@dataclass(frozen=True)
class Folded:
    claimed: int
    failed: int


class FoldCache:
    """The rows this process last committed for each request's view, with the number of facts they were
    folded from (at most ``size`` requests, the least recently folded forgotten first).

    A request's facts are only ever added, so the number of facts names the set of facts: when the stored
    view's ``events`` (read with the facts, under the request's advisory lock) equals the cached count,
    the stored rows are the cached rows (the rows are a function of the set of facts), whichever replica
    wrote them. Otherwise (not cached, another replica folded more facts since, a commit whose outcome
    was not known) the request's rows are replaced whole, as without a cache."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._rows: OrderedDict[str, tuple[int, dict[str, Rows]]] = OrderedDict()

    def rows(self, request_id: str, stored_events: int | None) -> dict[str, Rows] | None:
        """The stored rows of the request's view, if known: None when they must be replaced whole."""
        cached = self._rows.get(request_id)
        if cached is None or stored_events is None or cached[0] != stored_events:
            return None
        return cached[1]

    def put(self, request_id: str, events: int, rows: dict[str, Rows]) -> None:
        self._rows[request_id] = (events, rows)
        self._rows.move_to_end(request_id)
        while len(self._rows) > self.size:
            self._rows.popitem(last=False)

    def __len__(self) -> int:
        return len(self._rows)


async def fold_pending(
    *, uow: FoldUow, bands: list[Decimal], limit: int, only: str | None = None, cache: FoldCache | None = None
) -> Folded:
    """Refold up to ``limit`` queued requests (or just ``only``) in one transaction, which this commits.

    A request whose fold raises is marked failed (with the error) and left out; it is folded again
    when its next fact arrives. The others are folded and their queue rows removed.

    Every request is refolded from all its facts. With a ``cache`` only what changed is written: the
    tables whose rows differ from the cached rows of the stored view (most facts change the summary
    and one more table), in two statements (the deletes; the inserts and the queue rows removed).
    """
    queue = uow.fold_queue
    if only is not None:
        one = await queue.claim_one(only)
        pending = [one] if one is not None else []
    else:
        pending = await queue.claim(limit)
    if not pending:
        return Folded(0, 0)
    if cache is not None:
        return await _fold_changes(uow, pending, bands, cache)
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


async def _fold_changes(uow: FoldUow, pending: list[Pending], bands: list[Decimal], cache: FoldCache) -> Folded:
    queue = uow.fold_queue
    facts, stored = await queue.facts_and_stored([p.request_id for p in pending])
    deleted: dict[str, list[str]] = {t: [] for t in VIEW_TABLES}
    inserted: dict[str, list[tuple[Any, ...]]] = {t: [] for t in VIEW_TABLES}
    folded: list[Pending] = []
    written: list[tuple[str, int, dict[str, Rows]]] = []
    failed = 0
    for p in pending:
        rid = p.request_id
        try:
            view = fold(facts.get(rid, []), bands=bands)
            rows: dict[str, Rows] = view_rows(view) if view is not None else dict.fromkeys(VIEW_TABLES, ())
        except Exception as exc:  # a pure fold that raises on odd data must not block the others
            log.error("insights.fold_failed", request_id=rid, error=repr(exc))
            await queue.failed(p, repr(exc))
            failed += 1
            continue
        folded.append(p)
        before = cache.rows(rid, stored.get(rid))
        for t in VIEW_TABLES:
            if before is None or before[t] != rows[t]:
                deleted[t].append(rid)
                inserted[t].extend(rows[t])
        if view is not None:
            written.append((rid, view.events, rows))
    await uow.views.write(deleted, inserted, folded)
    await uow.commit()
    for rid, events, rows in written:
        cache.put(rid, events, rows)
    return Folded(len(pending), failed)
