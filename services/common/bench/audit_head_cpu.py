"""An audited consumer unit of work, the audit chain's head before and after the head function, alternated
in one run (not a test).

As ``consumer_uow_cpu.py --audit`` (claim, one event published, outcome, commit, the audit chain):
the old head (``LOCK TABLE audit_entry IN EXCLUSIVE MODE``, then the last entry read: two round
trips; copied below) against ``audit.lock_head`` (the database's function ``audit_entry_head()``
takes the lock and reads the last entry: one round trip). Each against its own private database of
the current profile's PostgreSQL; before and after timing both have written the same
inbox, outbox and audit rows (compared, and both chains verified). Reported: client CPU (this
process), backend CPU (``/proc`` of each connection's PostgreSQL process), wall, per unit of work;
medians of rounds.

    source deploy/env.sh && .venv/bin/python services/common/bench/audit_head_cpu.py --n 300 --rounds 6
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backoffice_common import audit
from backoffice_common.audit import create_audit_head, create_audit_table, verify_chain
from backoffice_common.db import driver_connection, make_session_factory, new_metadata
from backoffice_common.events import KAFKA_HEADERS, CloudEvent, new_event
from backoffice_common.messaging import MessagingTables, messaging_tables
from backoffice_common.testing import private_database
from backoffice_common.tracing import current_trace_headers
from backoffice_common.uow import UnitOfWork

TICKS = os.sysconf("SC_CLK_TCK")


async def old_insert_statement(
    conn: asyncpg.Connection, table: str, events: Sequence[CloudEvent], *, service: str, first_param: int = 1
) -> tuple[str, list[Any]]:
    """``audit.insert_statement`` before the head function (copied): LOCK TABLE, then the last entry read."""
    await conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    last = await conn.fetchrow(f"SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1")  # noqa: S608
    seq, prev = (int(last["seq"]), str(last["hash"])) if last else (0, audit.GENESIS)
    first_seq = seq + 1
    contents: list[str] = []
    requests: list[str | None] = []
    prevs: list[str] = []
    hashes: list[str] = []
    for event in events:
        seq += 1
        content = audit.content_of(event, service=service)
        digest = audit.hash_of(seq, prev, content)
        contents.append(content)
        requests.append(audit.request_of(event))
        prevs.append(prev)
        hashes.append(digest)
        prev = digest
    p = first_param
    sql = (
        f"INSERT INTO {table} (seq, recorded_at, request_id, content, prev_hash, hash)"  # noqa: S608
        f" SELECT ${p} + n - 1, ${p + 1}::timestamptz, r, c, ph, h"
        f" FROM unnest(${p + 2}::text[], ${p + 3}::text[], ${p + 4}::text[], ${p + 5}::text[])"
        " WITH ORDINALITY AS a(r, c, ph, h, n)"
    )
    return sql, [first_seq, datetime.now(UTC), requests, contents, prevs, hashes]


class OldUnitOfWork(UnitOfWork):
    """The unit of work before the head function: its commit statement after ``old_insert_statement``."""

    async def flush_events(self) -> None:
        audited = self._tables.audit is not None and bool(self._pending or self._facts)
        facts = [*self.pending_events, *self._facts]
        self._facts = []
        outcomes, self._outcomes = self._outcomes, {}
        if not self._pending and not audited and not outcomes:
            return
        await self.session.flush()
        conn = await driver_connection(self.session)
        parts: list[str] = []
        args: list[Any] = []
        if audited:
            assert self._tables.audit is not None
            audit_sql, audit_args = await old_insert_statement(
                conn, self._tables.audit.name, facts, service=self._service, first_param=1
            )
            parts.append(audit_sql)
            args.extend(audit_args)
        if outcomes:
            n = len(args)
            inbox = self._tables.inbox.name
            parts.append(
                f"UPDATE {inbox} SET outcome = o.outcome"  # noqa: S608
                f" FROM unnest(${n + 1}::text[], ${n + 2}::text[], ${n + 3}::text[]) AS o(consumer, event_id, outcome)"
                f" WHERE {inbox}.consumer = o.consumer AND {inbox}.event_id = o.event_id"
            )
            args.extend([[c for c, _ in outcomes], [e for _, e in outcomes], list(outcomes.values())])
        final = "SELECT 1"
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


async def run(n: int, rounds: int) -> None:
    async with AsyncExitStack() as stack:
        variants: list[Variant] = []
        for name, cls in (("old", OldUnitOfWork), ("new", UnitOfWork)):
            url = await stack.enter_async_context(private_database())
            tables = messaging_tables(new_metadata(), audit=True)
            engine = create_async_engine(url, pool_size=1, max_overflow=0)
            stack.push_async_callback(engine.dispose)
            async with engine.begin() as conn:
                await conn.run_sync(tables.outbox.create)
                await conn.run_sync(tables.inbox.create)
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
        for v in variants:
            async with v.engine.connect() as conn:
                chain = [dict(r._mapping) for r in (await conn.execute(text("SELECT * FROM audit_entry ORDER BY seq")))]
            assert verify_chain(chain) is None, f"{v.name}: the chain does not verify"
    load = os.getloadavg()
    what = "claim + 1 event + outcome + audit + commit"
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
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
