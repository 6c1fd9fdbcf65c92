"""The eighth round's round trips of the unit of work, old against new, alternated in one run (not a test).

``old``: ``UnitOfWork`` with ``commit`` as it was (``OldCommit``, copied below): the commit statement (for a
handler's outcome alone, ``WITH w0 AS (UPDATE processed_event ... FROM unnest(...)) SELECT 1``), then COMMIT:
two round trips. ``new``: this checkout's ``UnitOfWork``: an outcome alone is ``UPDATE ...; COMMIT`` in one
message (``DriverTransaction.commit_with``). Commit 31aab3f of this branch also sent the claim with BEGIN
and every commit statement with COMMIT (values as constants); measured with this script then (``--only
claim``/``commit`` of that commit) and dropped: the server's parse and plan cost what the round trips saved.

Operations, as the services run them, the audit chain on:

- ``consume``: a consumer's unit of work: claim, a raw write, one event published, outcome, commit.
- ``outcome``: claim, a raw write, an outcome and nothing published (budgets', requests', checklists' handlers).
- ``plain``: claim and commit, no outcome, nothing published (a handler with no effect).
- ``duplicate``: the claim of an event already handled: False, left without commit.
- ``command``: a command: a row under lock (``fetch_beginning``), a raw UPDATE, one event, commit.

Both variants first run each operation on keys of their own, and the rows they leave (items, inbox rows
with their outcomes, outbox rows, the audit chain verified) are compared; a unit of work left without
commit leaves nothing; no connection is left in a transaction. Then rounds alternate old and new: client
CPU (this process), backend CPU (``/proc`` of the pool's one backend), wall, per unit of work.

    source deploy/env.sh && .venv/bin/python services/common/bench/uow_round_trips_cpu.py --n 500 --rounds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, Text, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backoffice_common.audit import create_audit_head, create_audit_table, verify_chain
from backoffice_common.db import (
    _discard_closed_connection,
    driver_connection,
    fetch_beginning,
    make_session_factory,
    new_metadata,
)
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.messaging import messaging_tables
from backoffice_common.testing import private_database
from backoffice_common.uow import UnitOfWork, _session_used

TICKS = os.sysconf("SC_CLK_TCK")
item_metadata = MetaData()
ITEM = Table(
    "bench_item",
    item_metadata,
    Column("id", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),
)


class OldCommit(UnitOfWork):
    """The commit as before this round: the commit statement (``flush_events``), then COMMIT on its own."""

    async def commit(self) -> None:
        await self.collect_events()
        await self.flush_events()
        session = self.session
        if self._transaction is None or _session_used(session):
            await session.commit()
        if self._transaction is not None:
            await self._transaction.commit()


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


Op = Callable[[Callable[[], UnitOfWork], str], Awaitable[None]]


def cause_of(key: str) -> CloudEvent:
    """The event a consumer claims: its id from the key (a quote and a backslash in it), so a duplicate is one."""
    return new_event(type="bench.asked", service="bench", subject=key, data={"k": key}).model_copy(
        update={"id": f"ev-{key}-it's\\"}
    )


async def consume(make: Callable[[], UnitOfWork], key: str) -> None:
    cause = cause_of(key)
    async with make() as uow:
        assert await uow.claim(consumer="bench", event=cause)
        conn = await driver_connection(uow.session)
        await conn.execute("INSERT INTO bench_item (id, version, body) VALUES ($1, 1, $2)", key, "x" * 100)
        uow.publish(new_event(type="bench.done", service="bench", subject=key, data={"k": key}), topic="t")
        await uow.set_outcome(event=cause, outcome="stored")
        await uow.commit()


async def outcome(make: Callable[[], UnitOfWork], key: str) -> None:
    cause = cause_of(key + "-o")
    async with make() as uow:
        assert await uow.claim(consumer="bench", event=cause)
        conn = await driver_connection(uow.session)
        await conn.execute("UPDATE bench_item SET body = $2 WHERE id = $1", key, "o" * 100)
        await uow.set_outcome(event=cause, outcome="sent: it's 'done' \\o/")
        await uow.commit()


async def plain(make: Callable[[], UnitOfWork], key: str) -> None:
    async with make() as uow:
        assert await uow.claim(consumer="bench", event=cause_of(key + "-p"))
        await uow.commit()


async def duplicate(make: Callable[[], UnitOfWork], key: str) -> None:
    async with make() as uow:
        assert not await uow.claim(consumer="bench", event=cause_of(key + "-p"))


async def command(make: Callable[[], UnitOfWork], key: str) -> None:
    async with make() as uow:
        rows = await fetch_beginning(uow.session, "SELECT id, version FROM bench_item WHERE id = $1 FOR UPDATE", key)
        version = rows[0]["version"]
        conn = await driver_connection(uow.session)
        await conn.execute("UPDATE bench_item SET version = $2, body = $3 WHERE id = $1", key, version + 1, "y" * 100)
        uow.publish(new_event(type="bench.changed", service="bench", subject=key, data={"v": version + 1}), topic="t")
        await uow.commit()


async def uncommitted(make: Callable[[], UnitOfWork], key: str) -> None:
    cause = cause_of(key)
    async with make() as uow:
        await uow.claim(consumer="bench", event=cause)
        conn = await driver_connection(uow.session)
        await conn.execute("INSERT INTO bench_item (id, version, body) VALUES ($1, 1, $2)", key, "x")
        await uow.set_outcome(event=cause, outcome="never")
        uow.publish(new_event(type="bench.done", service="bench", subject=key, data={}), topic="t")


OPS: dict[str, Op] = {
    "consume": consume,
    "outcome": outcome,
    "plain": plain,
    "duplicate": duplicate,
    "command": command,
}


async def state(engine: AsyncEngine, name: str) -> dict[str, Any]:
    """What ``name``'s checks left, the variant's name taken out of keys (comparable)."""
    async with engine.connect() as conn:
        items = (
            await conn.execute(
                text("SELECT replace(id, :n, 'V'), version, body FROM bench_item WHERE id LIKE :p ORDER BY 1"),
                {"n": name, "p": f"check-{name}-%"},
            )
        ).all()
        inbox = (
            await conn.execute(
                text(
                    "SELECT p.consumer, p.event_type, p.outcome FROM processed_event p"
                    " WHERE p.event_id IN (SELECT event_id FROM bench_ids WHERE variant = :n) ORDER BY 1, 2, 3"
                ),
                {"n": name},
            )
        ).all()
        outbox = (
            await conn.execute(
                text(
                    "SELECT topic, replace(key, :n, 'V'), event_type FROM outbox_message WHERE key LIKE :p ORDER BY id"
                ),
                {"n": name, "p": f"check-{name}-%"},
            )
        ).all()
    return {
        "items": [tuple(r) for r in items],
        "inbox": [tuple(r) for r in inbox],
        "outbox": [tuple(r) for r in outbox],
    }


async def run(n: int, rounds: int, timed: list[str]) -> None:
    old_class: type[UnitOfWork] = OldCommit
    new_class: type[UnitOfWork] = UnitOfWork
    async with private_database() as url:
        metadata = new_metadata()
        tables = messaging_tables(metadata, audit=True)
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        event.listen(engine.sync_engine, "checkout", _discard_closed_connection)
        async with engine.begin() as conn:
            await conn.run_sync(tables.outbox.create)
            await conn.run_sync(tables.inbox.create)
            await conn.run_sync(create_audit_table)
            await conn.run_sync(create_audit_head)
            await conn.run_sync(item_metadata.create_all)
            await conn.execute(text("CREATE TABLE bench_ids (variant text, event_id text)"))
        factory = make_session_factory(engine)
        async with engine.connect() as conn:
            pid = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        variants: dict[str, Callable[[], UnitOfWork]] = {
            "old": lambda: old_class(factory, tables=tables, service="bench"),
            "new": lambda: new_class(factory, tables=tables, service="bench"),
        }

        # The same effects first.
        seen: dict[str, dict[str, Any]] = {}
        for name, make in variants.items():
            for i in range(3):
                key = f"check-{name}-{i}"
                for op in OPS.values():
                    await op(make, key)
                async with engine.begin() as conn:
                    for suffix in ("", "-o", "-p"):
                        await conn.execute(
                            text("INSERT INTO bench_ids VALUES (:n, :i)"),
                            {"n": name, "i": cause_of(key + suffix).id},
                        )
            await uncommitted(make, f"check-{name}-dropped")
            seen[name] = await state(engine, name)
        assert seen["old"] == seen["new"], seen
        assert all("dropped" not in str(row) for row in seen["new"]["items"] + seen["new"]["outbox"])
        async with engine.connect() as conn:
            chain = [dict(r._mapping) for r in await conn.execute(text("SELECT * FROM audit_entry ORDER BY seq"))]
            never = (await conn.execute(text("SELECT count(*) FROM processed_event WHERE outcome = 'never'"))).scalar()
            in_tx = (
                await conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in%'"))
            ).scalar()
        assert verify_chain(chain) is None
        assert never == 0
        assert in_tx == 0, "a connection was left in a transaction"
        print(
            f"checked: both leave {len(seen['new']['items'])} items, {len(seen['new']['inbox'])} inbox rows with"
            f" the same outcomes, {len(seen['new']['outbox'])} outbox rows; audit chain of {len(chain)} verified;"
            " nothing of the unit of work left without commit; none left open"
        )

        for name, make in variants.items():  # warm-up: statement caches
            for i in range(30):
                for op in OPS.values():
                    await op(make, f"warm-{name}-{i}")
        results: dict[tuple[str, str], tuple[list[float], list[float], list[float]]] = {
            (o, v): ([], [], []) for o in timed for v in variants
        }
        loads = [os.getloadavg()[0]]
        for r in range(rounds):
            order = list(variants.items()) if r % 2 == 0 else list(reversed(variants.items()))
            for name, make in order:
                for op_name, op in OPS.items():
                    keys = [f"{name}-{r}-{i}" for i in range(n)]
                    if op_name not in timed:  # run (the later operations need its rows), not timed
                        for key in keys:
                            await op(make, key)
                        continue
                    c0, s0, w0 = time.process_time(), backend_cpu(pid), time.perf_counter()
                    for key in keys:
                        await op(make, key)
                    out = results[(op_name, name)]
                    out[0].append((time.process_time() - c0) / n * 1000)
                    out[1].append((backend_cpu(pid) - s0) / n * 1000)
                    out[2].append((time.perf_counter() - w0) / n * 1000)
            loads.append(os.getloadavg()[0])
        await engine.dispose()
    print(
        f"unit of work, old against new commit, {rounds} rounds x {n} per operation,"
        f" alternated; load {min(loads):.1f}-{max(loads):.1f}"
    )
    print(f"{'':12}{'':5}{'client ms':>10}{'backend ms':>11}{'wall ms':>9}  (medians of the rounds)")
    for op_name in timed:
        for name in variants:
            client, server, wall = results[(op_name, name)]
            print(
                f"  {op_name:10}{name:5}{statistics.median(client):10.3f}{statistics.median(server):11.3f}"
                f"{statistics.median(wall):9.3f}"
            )
        c = [statistics.mean(results[(op_name, v)][0]) for v in variants]
        s = [statistics.mean(results[(op_name, v)][1]) for v in variants]
        print(
            f"  {op_name:10}new/old (means) client {c[1] / c[0]:.2f},"
            f" backend {s[1] / s[0] if s[0] else float('nan'):.2f},"
            f" both {(c[1] + s[1]) / (c[0] + s[0]):.2f} ({c[0] + s[0]:.3f} -> {c[1] + s[1]:.3f} ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--ops", default=",".join(OPS), help="the operations timed (all are checked first)")
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds, args.ops.split(",")))


if __name__ == "__main__":
    main()
