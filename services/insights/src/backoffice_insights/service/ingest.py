"""Folding events into the read model, idempotently and independently of arrival order.

The event id is the fact's primary key, besides the consumer's inbox: a redelivered event, or the
same event arriving through a redrive, adds nothing, and the request's view is then left as it is.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from backoffice_insights.domain.facts import Fact, VendorFact
from backoffice_insights.domain.fold import fold
from backoffice_insights.domain.view import RequestView


class FactsPort(Protocol):
    async def lock_request(self, request_id: str) -> None: ...
    async def add(self, f: Fact) -> bool: ...
    async def of_request(self, request_id: str) -> list[Fact]: ...
    async def vendor(self, vendor_id: str) -> VendorFact | None: ...
    async def save_vendor(self, v: VendorFact) -> None: ...


class ViewsPort(Protocol):
    async def replace(self, v: RequestView) -> None: ...


class IngestUow(Protocol):
    @property
    def facts(self) -> FactsPort: ...
    @property
    def views(self) -> ViewsPort: ...


async def fold_event(*, uow: IngestUow, fact: Fact, bands: list[Decimal]) -> str:
    """Record the fact and refold its request from all its facts (the caller commits)."""
    facts = uow.facts
    await facts.lock_request(fact.request_id)
    if not await facts.add(fact):
        return "duplicate"
    view = fold(await facts.of_request(fact.request_id), bands=bands)
    if view is None:  # pragma: no cover - the fact was just added
        return "nothing to fold"
    await uow.views.replace(view)
    return f"folded: {view.status}"


async def record_vendor(*, uow: IngestUow, vendor: VendorFact) -> str:
    current = await uow.facts.vendor(vendor.vendor_id)
    if not vendor.newer_than(current):
        return "older than the vendor record kept"
    await uow.facts.save_vendor(vendor)
    return "vendor recorded"
