"""CPU of a consumed request event in insights: claimed in the inbox then recorded as a fact (fifth round),
claimed by its fact in the unit of work's transaction (sixth round, "fact, begun"), and claimed by its fact
committed on its own (``InsightsUnitOfWork.claim``, seventh round: no BEGIN, no COMMIT; "fact, alone") (not a
test).

One operation: a whole order's events (about 14; ``insights_testkit.full_order``), each consumed as the
consumer does at a low rate, in a unit of work of its own: claim, the handler, commit. "inbox" is the
previous path (``UnitOfWork.claim``'s inbox row, then the handler's ``FactStore.record``), "fact" this
checkout's (the fact and the fold queue's mark in one statement that begins the transaction; the handler
finds it recorded). Each path on its own private, migrated database and its own pooled connection,
alternated round by round. Before timing, the same order through both: the fact rows and the fold queue
must be equal, and a second delivery of every event must be a duplicate on both (nothing stored). The
batch path (``claim_many``, a polled batch in one transaction) is checked the same way and timed too (its
queue row's version, a mark of change, is bumped once per batch by the fact claim, once per fact before).
Reported: client CPU (this process) and backend CPU (``/proc`` of the connection's PostgreSQL process)
per event, medians of ``--rounds`` rounds.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/insights/bench/claim_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from insights_testkit import Order, full_order

import backoffice_insights
from backoffice_common.db import make_session_factory
from backoffice_common.events import CloudEvent
from backoffice_common.testing import private_database
from backoffice_common.uow import UnitOfWork
from backoffice_insights.consumers import handlers
from backoffice_insights.domain.facts import REQUEST_EVENT_TYPES
from backoffice_insights.models import messaging
from backoffice_insights.service.ingest import request_fact
from backoffice_insights.service.uow import InsightsUnitOfWork

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_insights.__file__).parent / "migrations"
HANDLERS = handlers()
CONSUMER = "insights-bench"


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class InboxUow(InsightsUnitOfWork):
    """The previous claim: every event in the inbox; the handler records the fact."""

    async def claim(self, *, consumer: str, event: CloudEvent) -> bool:
        return await UnitOfWork.claim(self, consumer=consumer, event=event)

    async def claim_many(self, *, consumer: str, events: Sequence[CloudEvent]) -> set[str]:
        return await UnitOfWork.claim_many(self, consumer=consumer, events=events)


class BegunUow(InsightsUnitOfWork):
    """The sixth round's claim: the fact's statement begins the unit of work's transaction, committed with it."""

    async def claim(self, *, consumer: str, event: CloudEvent) -> bool:
        if event.type not in REQUEST_EVENT_TYPES:
            return await UnitOfWork.claim(self, consumer=consumer, event=event)
        self._claimed_by = consumer
        if not await self.facts.record_first(request_fact(event)):
            return False
        self._remember({event.id})
        return True

    async def claim_many(self, *, consumer: str, events: Sequence[CloudEvent]) -> set[str]:
        facts = [request_fact(e) for e in events if e.type in REQUEST_EVENT_TYPES]
        others = [e for e in events if e.type not in REQUEST_EVENT_TYPES]
        new = await UnitOfWork.claim_many(self, consumer=consumer, events=others) if others else set()
        self._claimed_by = consumer
        recorded = await self.facts.record_many(facts)
        self._remember(recorded)
        return new | recorded


async def consume_one(factory: Any, event: CloudEvent) -> str:
    """``EventConsumer._handle_once``: claim, handler, outcome, commit."""
    async with factory() as uow:
        if not await uow.claim(consumer=CONSUMER, event=event):
            return "duplicate"
        outcome = await HANDLERS[event.type](event, uow)
        if outcome is not None:
            await uow.set_outcome(consumer=CONSUMER, event=event, outcome=outcome)
        await uow.commit()
        return "handled"


async def consume_batch(factory: Any, events: list[CloudEvent]) -> list[str]:
    """``EventConsumer._handle_batch``: one claim for the batch, each new event's handler, one commit."""
    outcomes = []
    async with factory() as uow:
        new = await uow.claim_many(consumer=CONSUMER, events=events)
        for event in events:
            if event.id not in new:
                outcomes.append("duplicate")
                continue
            new.discard(event.id)
            outcome = await HANDLERS[event.type](event, uow)
            if outcome is not None:
                await uow.set_outcome(consumer=CONSUMER, event=event, outcome=outcome)
            outcomes.append("handled")
        await uow.commit()
    return outcomes


async def stored(sessions: Any, request_ids: list[str]) -> tuple[Any, ...]:
    async with sessions() as s:
        facts = await s.execute(
            text(
                "SELECT event_id, request_id, type, occurred_at::text, data::text FROM fact"
                " WHERE request_id = ANY(:ids) ORDER BY event_id"
            ),
            {"ids": request_ids},
        )
        queue = await s.execute(
            text("SELECT request_id, version, error FROM dirty_request WHERE request_id = ANY(:ids) ORDER BY 1"),
            {"ids": request_ids},
        )
        return tuple(map(tuple, facts)), tuple(map(tuple, queue))


async def run(n: int, rounds: int) -> None:
    async with AsyncExitStack() as stack:
        paths: dict[str, tuple[Any, Any, int]] = {}
        variants = (("inbox", InboxUow), ("fact, begun", BegunUow), ("fact, alone", InsightsUnitOfWork))
        for how, uow_class in variants:
            url = await stack.enter_async_context(private_database(MIGRATIONS))
            engine = create_async_engine(url, pool_size=1, max_overflow=0)
            stack.push_async_callback(engine.dispose)
            sessions: async_sessionmaker[Any] = make_session_factory(engine)
            async with sessions() as session:
                pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())

            def factory(sessions: Any = sessions, uow_class: type[InsightsUnitOfWork] = uow_class) -> Any:
                return uow_class(sessions, tables=messaging, service="insights")

            paths[how] = (factory, sessions, pid)

        # The same orders through both paths: the same facts and queue, the same outcomes, twice.
        one, batch = full_order(Order()), full_order(Order())
        seen = []
        for factory, sessions, _ in paths.values():
            outcomes = [await consume_one(factory, e) for _, e in one.events]
            outcomes += [await consume_one(factory, e) for _, e in one.events]
            events = [e for _, e in batch.events]
            outcomes += await consume_batch(factory, [*events[:5], events[2], *events[5:]])
            outcomes += await consume_batch(factory, events)
            facts, queue = await stored(sessions, [one.request_id, batch.request_id])
            # The queue's version is a mark of change: one bump per fact recorded one by one (both paths),
            # one per batch with the fact claim (the inbox path bumped once per fact of the batch).
            queue = tuple((r, v if r == one.request_id else v > 0, error) for r, v, error in queue)
            seen.append((outcomes, facts, queue))
        assert seen[0] == seen[1] == seen[2], "the claims store or answer differently"
        events_per_order = len(one.events)
        print(f"same facts, queue and outcomes ({len(seen[0][1])} facts); {events_per_order} events per order")

        results: dict[str, tuple[list[float], list[float]]] = {}
        for _ in range(rounds):
            for mode in ("one by one", "batch"):
                for how, (factory, _, pid) in paths.items():
                    orders = [full_order(Order()) for _ in range(n)]
                    c0, s0 = time.process_time(), backend_cpu(pid)
                    for order in orders:
                        if mode == "batch":
                            await consume_batch(factory, [e for _, e in order.events])
                        else:
                            for _, event in order.events:
                                await consume_one(factory, event)
                    events = n * events_per_order
                    key = f"{mode}, {how}"
                    client, backend = results.setdefault(key, ([], []))
                    client.append((time.process_time() - c0) / events * 1000)
                    backend.append((backend_cpu(pid) - s0) / events * 1000)
        print(f"ms per event, medians of {rounds} rounds of {n} orders; load {os.getloadavg()[0]:.1f}")
        for key, (client, backend) in results.items():
            print(f"  {key:<18} client {statistics.median(client):6.3f}   backend {statistics.median(backend):6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20, help="orders per round and path")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"load {os.getloadavg()[0]:.1f}")
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
