"""The fold job writes only the rows that changed (``fold_pending`` with a ``FoldCache``): over random fact
sequences (any arrival order, redeliveries, late facts, folds between any two facts, another replica
folding with its own cache, a restart forgetting the cache) the stored rows after every pass are exactly
those of a refold from scratch written whole."""

from __future__ import annotations

from collections.abc import Coroutine
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from insights_scenario import orders

from backoffice_insights.domain.facts import Fact, Pending
from backoffice_insights.domain.fold import fold
from backoffice_insights.domain.view import RequestView
from backoffice_insights.repository.store import _INSERT_ROWS, VIEW_TABLES, Rows, view_rows
from backoffice_insights.service.ingest import FoldCache, fold_pending

BANDS = [Decimal(1000), Decimal(10000), Decimal(100000)]
ORDERS = orders()  # twenty orders: whole ones, a revision, escalation and a failed delivery, a cancellation
_EVENTS = _INSERT_ROWS["request_view"][1].index("events")


def run_through(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits (the fakes below do no I/O) to its end, without an event loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the coroutine waited for something")


class Store:
    """The database in memory: facts, the fold queue, and each table's rows per request."""

    def __init__(self) -> None:
        self.facts: dict[str, Fact] = {}
        self.queue: dict[str, int] = {}
        self.tables: dict[str, dict[str, Rows]] = {t: {} for t in VIEW_TABLES}
        self.rows_written = 0
        self.statements = 0

    def record(self, f: Fact) -> None:
        if f.event_id not in self.facts:
            self.facts[f.event_id] = f
            self.queue[f.request_id] = self.queue.get(f.request_id, 0) + 1

    def expected(self) -> dict[str, dict[str, Rows]]:
        """Every request's rows from a refold of all its facts from scratch."""
        by_request: dict[str, list[Fact]] = {}
        for f in self.facts.values():
            by_request.setdefault(f.request_id, []).append(f)
        result: dict[str, dict[str, Rows]] = {t: {} for t in VIEW_TABLES}
        for rid, facts in by_request.items():
            view = fold(facts, bands=BANDS)
            assert view is not None
            for t, rows in view_rows(view).items():
                if rows:
                    result[t][rid] = rows
        return result


class Queue:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def claim(self, limit: int) -> list[Pending]:
        return [Pending(r, v) for r, v in list(self.store.queue.items())[:limit]]

    async def claim_one(self, request_id: str) -> Pending | None:
        version = self.store.queue.get(request_id)
        return Pending(request_id, version) if version is not None else None

    async def facts_of(self, request_ids: list[str]) -> dict[str, list[Fact]]:
        return {r: [f for f in self.store.facts.values() if f.request_id == r] for r in request_ids}

    async def facts_and_stored(self, request_ids: list[str]) -> tuple[dict[str, list[Fact]], dict[str, int]]:
        views = self.store.tables["request_view"]
        stored = {r: views[r][0][_EVENTS] for r in request_ids if r in views}
        return await self.facts_of(request_ids), stored

    async def done(self, pending: list[Pending]) -> None:
        for p in pending:
            if self.store.queue.get(p.request_id) == p.version:
                del self.store.queue[p.request_id]

    async def failed(self, pending: Pending, error: str) -> None:
        raise AssertionError(error)


class Views:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def replace(self, request_ids: list[str], views: list[RequestView]) -> None:
        self.store.statements += 1  # the deletes, then one insert per table with rows, and the queue's ``done``
        for t in VIEW_TABLES:
            for rid in request_ids:
                self.store.tables[t].pop(rid, None)
        for view in views:
            for t, rows in view_rows(view).items():
                if rows:
                    self.store.tables[t][view.request_id] = rows
                    self.store.rows_written += len(rows)
                    self.store.statements += 1
        self.store.statements += 1

    async def write(
        self, deleted: dict[str, list[str]], inserted: dict[str, list[tuple[Any, ...]]], done: list[Pending]
    ) -> None:
        self.store.statements += 2
        for t, rids in deleted.items():
            for rid in rids:
                self.store.tables[t].pop(rid, None)
        for t, rows in inserted.items():
            at = _INSERT_ROWS[t][1].index("request_id")
            for row in rows:
                self.store.tables[t][row[at]] = (*self.store.tables[t].get(row[at], ()), row)
                self.store.rows_written += 1
        await Queue(self.store).done(done)


class Uow:
    def __init__(self, store: Store) -> None:
        self.fold_queue = Queue(store)
        self.views = Views(store)

    async def commit(self) -> None:
        return None


def folded_part(store: Store) -> dict[str, dict[str, Rows]]:
    """The expected rows of the requests not waiting in the queue (those are folded up to date)."""
    expected = store.expected()
    return {t: {r: rows for r, rows in by.items() if r not in store.queue} for t, by in expected.items()}


def stored_part(store: Store) -> dict[str, dict[str, Rows]]:
    return {t: {r: rows for r, rows in by.items() if r not in store.queue} for t, by in store.tables.items()}


# What happens after each arriving fact: nothing, a pass of this replica's job, a pass of another
# replica's job (its own cache), a restart of this replica (its cache forgotten) then a pass, a pass of
# the job without a cache (the one-by-one fold after a failed batch replaces whole).
ACTIONS = st.sampled_from(["none", "none", "fold", "fold", "other", "restart", "whole"])


@settings(max_examples=150, deadline=None)
@given(
    picked=st.lists(st.integers(0, len(ORDERS) - 1), min_size=1, max_size=3, unique=True),
    data=st.data(),
)
def test_writing_only_the_changes_stores_what_a_refold_from_scratch_stores(picked: list[int], data: Any) -> None:
    facts = [f for i in picked for f in ORDERS[i].facts()]
    arrival = data.draw(st.permutations(facts))
    redelivered = data.draw(st.lists(st.sampled_from(facts), max_size=5))
    for f in redelivered:  # a redelivery at a random later place
        arrival.insert(data.draw(st.integers(arrival.index(f), len(arrival))), f)
    store = Store()
    uow = Uow(store)
    mine, other = FoldCache(), FoldCache()
    for f in arrival:
        store.record(f)
        match data.draw(ACTIONS):
            case "fold":
                run_through(fold_pending(uow=uow, bands=BANDS, limit=data.draw(st.integers(1, 3)), cache=mine))
            case "other":
                run_through(fold_pending(uow=uow, bands=BANDS, limit=10, cache=other))
            case "restart":
                mine = FoldCache()
                run_through(fold_pending(uow=uow, bands=BANDS, limit=10, cache=mine))
            case "whole":
                run_through(fold_pending(uow=uow, bands=BANDS, limit=10))
        assert stored_part(store) == folded_part(store)
    while store.queue:
        run_through(fold_pending(uow=uow, bands=BANDS, limit=2, cache=mine))
    assert store.tables == store.expected()


async def test_an_order_folded_after_each_fact_writes_a_fraction_of_the_rows_and_statements() -> None:
    facts = ORDERS[0].facts()
    counts = {}
    for how, cache in (("whole", None), ("changes", FoldCache())):
        store = Store()
        uow = Uow(store)
        for f in facts:
            store.record(f)
            await fold_pending(uow=uow, bands=BANDS, limit=10, cache=cache)
        assert store.tables == store.expected()
        counts[how] = (store.rows_written, store.statements)
    assert counts["changes"][0] * 3 < counts["whole"][0] * 2, counts  # the summary each time, the rest when changed
    assert counts["changes"][1] * 2 < counts["whole"][1], counts


def test_the_cache_forgets_the_least_recently_folded_and_trusts_only_the_same_count_of_facts() -> None:
    cache = FoldCache(size=2)
    rows: dict[str, Rows] = dict.fromkeys(VIEW_TABLES, ())
    cache.put("a", 3, rows)
    cache.put("b", 1, rows)
    assert cache.rows("a", 3) is rows
    assert cache.rows("a", 4) is None  # another replica folded more facts since
    assert cache.rows("a", None) is None  # no stored view
    cache.put("a", 4, rows)
    cache.put("c", 1, rows)  # "b" is the least recently folded
    assert (len(cache), cache.rows("b", 1), cache.rows("a", 4)) == (2, None, rows)
