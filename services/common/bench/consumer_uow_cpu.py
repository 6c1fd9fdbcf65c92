"""A consumer's unit of work, the old statements against the new, alternated in one run (not a test).

What ``EventConsumer._handle_once`` does per handled event with a handler that publishes one event
and returns an outcome (most services' handlers): open the unit of work, claim the event in the
inbox, publish, set the outcome, commit (audit chain with ``--audit``). The old code (copied below:
the claim after an empty statement, the outcome as its own UPDATE) and the new one run round by
round against their own private databases of the current profile's PostgreSQL; before timing, both
write the same inbox, outbox and audit rows (compared). Reported: client CPU (this process), backend
CPU (``/proc`` of each connection's PostgreSQL process), wall, per unit of work; medians of rounds.

    source deploy/env.sh && .venv/bin/python services/common/bench/consumer_uow_cpu.py --n 300 --rounds 5 --audit
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backoffice_common import audit
from backoffice_common.audit import create_audit_head, create_audit_table
from backoffice_common.db import driver_connection, make_session_factory, new_metadata
from backoffice_common.events import KAFKA_HEADERS, CloudEvent, new_event
from backoffice_common.messaging import MessagingTables, messaging_tables
from backoffice_common.testing import private_database
from backoffice_common.tracing import current_trace_headers
from backoffice_common.uow import UnitOfWork

TICKS = os.sysconf("SC_CLK_TCK")


class OldUnitOfWork(UnitOfWork):
    """The unit of work before this change: claim after ``driver_connection``'s empty statement, the
    outcome as an UPDATE of its own, the commit statement without it."""

    async def claim(self, *, consumer: str, event: CloudEvent) -> bool:
        conn = await driver_connection(self.session)
        claimed = await conn.fetchval(
            f"INSERT INTO {self._tables.inbox.name} (consumer, event_id, event_type) VALUES ($1, $2, $3)"  # noqa: S608
            " ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id",
            consumer,
            event.id,
            event.type,
        )
        self._claimed_by = consumer
        return claimed is not None

    async def set_outcome(self, *, event: CloudEvent, outcome: str, consumer: str | None = None) -> None:
        consumer = consumer or self._claimed_by
        conn = await driver_connection(self.session)
        await conn.execute(
            f"UPDATE {self._tables.inbox.name} SET outcome = $3 WHERE consumer = $1 AND event_id = $2",  # noqa: S608
            consumer,
            event.id,
            outcome[:2000],
        )

    async def flush_events(self) -> None:
        audited = self._tables.audit is not None and bool(self._pending or self._facts)
        facts = [*self.pending_events, *self._facts]
        self._facts = []
        if not self._pending and not audited:
            return
        await self.session.flush()
        conn = await driver_connection(self.session)
        parts: list[str] = []
        args: list[Any] = []
        if audited:
            assert self._tables.audit is not None
            audit_sql, audit_args = await audit.insert_statement(
                conn, self._tables.audit.name, facts, service=self._service, first_param=1
            )
            parts.append(audit_sql)
            args.extend(audit_args)
        if self._pending:
            headers = json.dumps({**KAFKA_HEADERS, **current_trace_headers()})
            n = len(args)
            parts.append(
                f"INSERT INTO {self._tables.outbox.name} (topic, key, event_id, event_type, value, headers)"  # noqa: S608
                f" SELECT t, k, i, y, v, ${n + 6}::jsonb"
                f" FROM unnest(${n + 1}::text[], ${n + 2}::text[], ${n + 3}::text[], ${n + 4}::text[],"
                f" ${n + 5}::bytea[]) WITH ORDINALITY AS o(t, k, i, y, v, n) ORDER BY n"
            )
            args.extend(
                [
                    [topic for topic, _, _ in self._pending],
                    [key for _, key, _ in self._pending],
                    [event.id for _, _, event in self._pending],
                    [event.type for _, _, event in self._pending],
                    [event.to_json_bytes() for _, _, event in self._pending],
                    headers,
                    self._channel,
                ]
            )
            final = f"SELECT pg_notify(${n + 7}, '')"
        else:
            final = "SELECT 1"
        ctes = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(parts))
        await conn.execute(f"WITH {ctes} {final}", *args)
        self._pending = []


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Variant:
    def __init__(self, name: str, cls: type[UnitOfWork], engine: AsyncEngine, tables: MessagingTables) -> None:
        self.name = name
        self.engine = engine
        factory = make_session_factory(engine)
        self.uow: Callable[[], UnitOfWork] = lambda: cls(factory, tables=tables, service="bench")
        self.pid = 0
        self.client: list[float] = []
        self.server: list[float] = []
        self.wall: list[float] = []

    async def one(self, i: int) -> None:
        cause = CloudEvent(id=f"cause-{i}", source="backoffice/bench", type="bench.asked", subject=f"key-{i % 50}")
        async with self.uow() as uow:
            if not await uow.claim(consumer="bench", event=cause):
                return
            done = new_event(type="bench.done", service="bench", subject=cause.subject, data={"i": i})
            uow.publish(CloudEvent(**{**done.model_dump(), "id": f"done-{i}"}), topic="t")
            await uow.set_outcome(event=cause, outcome=f"published done-{i}")
            await uow.commit()

    async def rows(self) -> tuple[list[Any], list[Any], list[Any]]:
        queries = (
            "SELECT consumer, event_id, outcome FROM processed_event ORDER BY 2",
            "SELECT topic, key, event_id, headers FROM outbox_message ORDER BY id",
            "SELECT seq, request_id, prev_hash = '' FROM audit_entry ORDER BY seq",
        )
        async with self.engine.connect() as conn:
            inbox, outbox, chain = [[tuple(r) for r in (await conn.execute(text(q))).all()] for q in queries]
        return inbox, outbox, chain


async def run(n: int, rounds: int, with_audit: bool) -> None:
    async with AsyncExitStack() as stack:
        variants: list[Variant] = []
        for name, cls in (("old", OldUnitOfWork), ("new", UnitOfWork)):
            url = await stack.enter_async_context(private_database())
            tables = messaging_tables(new_metadata(), audit=with_audit)
            engine = create_async_engine(url, pool_size=1, max_overflow=0)
            stack.push_async_callback(engine.dispose)
            async with engine.begin() as conn:
                await conn.run_sync(tables.outbox.create)
                await conn.run_sync(tables.inbox.create)
                if with_audit:
                    await conn.run_sync(create_audit_table)
                    await conn.run_sync(create_audit_head)
            variant = Variant(name, cls, engine, tables)
            async with engine.connect() as conn:
                variant.pid = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            variants.append(variant)
        for v in variants:  # warm-up (statement caches), and the same rows from both
            for i in range(50):
                await v.one(-1 - i)
            await v.one(-1)  # a duplicate: claimed before, nothing written
        old_rows, new_rows = await variants[0].rows(), await variants[1].rows()
        assert old_rows == new_rows, "the old and the new unit of work wrote different rows"
        assert all(outcome.startswith("published") for _, _, outcome in new_rows[0])
        for r in range(rounds):
            for v in variants if r % 2 == 0 else reversed(variants):
                c0, s0, w0 = time.process_time(), backend_cpu(v.pid), time.perf_counter()
                for i in range(n):
                    await v.one(r * n + i)
                v.client.append((time.process_time() - c0) / n * 1000)
                v.server.append((backend_cpu(v.pid) - s0) / n * 1000)
                v.wall.append((time.perf_counter() - w0) / n * 1000)
        old_rows, new_rows = await variants[0].rows(), await variants[1].rows()
        assert old_rows == new_rows, "the old and the new unit of work wrote different rows"
    load = os.getloadavg()
    what = f"claim + 1 event + outcome{' + audit' if with_audit else ''} + commit"
    print(f"consumer unit of work ({what}), {rounds} x {n} each, alternated, load {load[0]:.2f}/{load[1]:.2f}")
    for v in variants:
        print(
            f"  {v.name}: client {statistics.median(v.client):.3f} ms, backend {statistics.median(v.server):.3f} ms,"
            f" wall {statistics.median(v.wall):.3f} ms   (client rounds {', '.join(f'{x:.3f}' for x in v.client)})"
        )
    old, new = variants
    print(f"  ratio new/old: client {statistics.median(new.client) / statistics.median(old.client):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--audit", action="store_true", help="the service keeps an audit log (most do)")
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds, args.audit))


if __name__ == "__main__":
    main()
