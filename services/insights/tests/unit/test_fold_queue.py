"""The two steps of ingestion with a fake unit of work: facts are recorded per event, requests refolded per batch."""

from __future__ import annotations

from decimal import Decimal

import pytest
from insights_testkit import Order, full_order

from backoffice_insights.domain.facts import Fact, Pending, VendorFact
from backoffice_insights.domain.view import RequestView
from backoffice_insights.service import ingest
from backoffice_insights.service.ingest import fold_pending, record_fact

BANDS = [Decimal(1000), Decimal(10000), Decimal(100000)]


class FakeFacts:
    def __init__(self) -> None:
        self.facts: dict[str, Fact] = {}
        self.queue: dict[str, int] = {}

    async def record(self, f: Fact) -> bool:
        if f.event_id in self.facts:
            return False
        self.facts[f.event_id] = f
        self.queue[f.request_id] = self.queue.get(f.request_id, 0) + 1
        return True

    async def vendor(self, vendor_id: str) -> VendorFact | None:
        return None

    async def save_vendor(self, v: VendorFact) -> None:
        return None

    async def save_vendor_if_newer(self, v: VendorFact) -> bool:
        return True


class FakeQueue:
    def __init__(self, facts: FakeFacts) -> None:
        self.store = facts
        self.failures: dict[str, str] = {}

    async def claim(self, limit: int) -> list[Pending]:
        return [Pending(r, v) for r, v in list(self.store.queue.items())[:limit] if r not in self.failures]

    async def claim_one(self, request_id: str) -> Pending | None:
        version = self.store.queue.get(request_id)
        return Pending(request_id, version) if version is not None else None

    async def facts_of(self, request_ids: list[str]) -> dict[str, list[Fact]]:
        return {r: [f for f in self.store.facts.values() if f.request_id == r] for r in request_ids}

    async def done(self, pending: list[Pending]) -> None:
        for p in pending:
            if self.store.queue.get(p.request_id) == p.version:
                del self.store.queue[p.request_id]

    async def failed(self, pending: Pending, error: str) -> None:
        self.failures[pending.request_id] = error


class FakeViews:
    def __init__(self) -> None:
        self.views: dict[str, RequestView] = {}
        self.replacements = 0

    async def replace(self, request_ids: list[str], views: list[RequestView]) -> None:
        self.replacements += 1
        for r in request_ids:
            self.views.pop(r, None)
        self.views.update({v.request_id: v for v in views})


class FakeUow:
    def __init__(self) -> None:
        self.facts = FakeFacts()
        self.fold_queue = FakeQueue(self.facts)
        self.views = FakeViews()
        self.commits = 0

    async def commit(self) -> None:
        self.commits += 1


async def test_facts_are_recorded_once_and_their_requests_folded_once_per_batch() -> None:
    uow = FakeUow()
    orders = [full_order(Order()) for _ in range(3)]
    for order in orders:
        for f in order.facts():
            assert await record_fact(uow=uow, fact=f) is None
    assert await record_fact(uow=uow, fact=orders[0].facts()[0]) == "duplicate"
    assert uow.views.views == {}

    result = await fold_pending(uow=uow, bands=BANDS, limit=2)
    assert (result.claimed, result.failed, uow.commits, uow.views.replacements) == (2, 0, 1, 1)
    result = await fold_pending(uow=uow, bands=BANDS, limit=2)
    assert (result.claimed, uow.commits) == (1, 2)
    assert {r: v.status for r, v in uow.views.views.items()} == {o.request_id: "closed" for o in orders}
    assert uow.facts.queue == {}
    assert (await fold_pending(uow=uow, bands=BANDS, limit=2)).claimed == 0
    assert uow.commits == 2  # nothing claimed, nothing committed


async def test_a_fact_recorded_after_the_claim_keeps_its_request_queued() -> None:
    uow = FakeUow()
    order = full_order(Order())
    first, *rest = order.facts()
    await record_fact(uow=uow, fact=first)
    claimed = await uow.fold_queue.claim(10)
    for f in rest:  # recorded while the fold of the first fact is under way
        await record_fact(uow=uow, fact=f)
    await uow.fold_queue.done(claimed)
    assert order.request_id in uow.facts.queue
    await fold_pending(uow=uow, bands=BANDS, limit=10)
    assert uow.views.views[order.request_id].status == "closed"


async def test_a_request_whose_fold_fails_is_set_aside_and_the_others_are_folded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uow = FakeUow()
    good, bad = full_order(Order()), full_order(Order())
    for f in [*good.facts(), *bad.facts()]:
        await record_fact(uow=uow, fact=f)
    real_fold = ingest.fold

    def fold(facts: list[Fact], *, bands: list[Decimal]) -> RequestView | None:
        if any(f.request_id == bad.request_id for f in facts):
            raise ValueError("odd data")
        return real_fold(facts, bands=bands)

    monkeypatch.setattr(ingest, "fold", fold)
    result = await fold_pending(uow=uow, bands=BANDS, limit=10)
    assert (result.claimed, result.failed) == (2, 1)
    assert set(uow.views.views) == {good.request_id}
    assert "odd data" in uow.fold_queue.failures[bad.request_id]
    assert bad.request_id in uow.facts.queue
    assert (await fold_pending(uow=uow, bands=BANDS, limit=10)).claimed == 0
