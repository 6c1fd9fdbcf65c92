"""The unit of work on asyncpg's own transaction against the SQLAlchemy session's, alternated in one run
(not a test).

``old``: ``backoffice_common.uow`` as it was (``--old-ref``, read with ``git show`` and loaded as a module
of its own): an ``AsyncSession`` per unit of work, BEGIN through SQLAlchemy's adapter (with the empty
statement of ``driver_connection`` or the claim through ``fetch_beginning``), COMMIT/ROLLBACK and the
connection's return through the session. ``new``: this checkout's ``UnitOfWork`` (``db.DriverTransaction``:
BEGIN, COMMIT and ROLLBACK on asyncpg, the session only where a repository uses it).

Three operations, as the services run them, the audit chain kept (as every service but insights):

- ``consume``: a consumer's unit of work: the inbox claim, a small write through ``driver_connection``
  (a handler's raw repository), one event published, commit (audit + outbox + outcome + NOTIFY).
- ``command``: a command's: the row read under lock (``fetch_beginning``: ``SELECT ... FOR UPDATE``), an
  UPDATE through ``driver_connection``, one event published, commit.
- ``read``: a read-only unit of work: one read through ``driver_connection``, left without commit.
- ``orm``: a repository on the ORM (``uow.session.execute`` of a Core ``select``, then an ORM-free
  ``UPDATE``), commit: the session path still works, and what it costs.

Both variants first run each operation on keys of their own, and the rows they leave (items, inbox,
outbox, audit chain verified) are compared; a unit of work left without commit is checked to leave
nothing. Then rounds alternate old and new; client CPU (this process), backend CPU (``/proc`` of the
pool's one PostgreSQL backend, the same for both), wall, per unit of work, medians.

    source deploy/env.sh && .venv/bin/python services/common/bench/driver_uow_cpu.py --n 300 --rounds 6
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, Text, event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backoffice_common.audit import create_audit_head, create_audit_table, verify_chain
from backoffice_common.db import (
    _discard_closed_connection,
    driver_connection,
    fetch_beginning,
    make_session_factory,
    new_metadata,
)
from backoffice_common.events import new_event
from backoffice_common.messaging import messaging_tables
from backoffice_common.testing import private_database
from backoffice_common.uow import UnitOfWork

TICKS = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parents[3]
item_metadata = MetaData()
ITEM = Table(
    "bench_item",
    item_metadata,
    Column("id", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),
)


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def old_uow_class(ref: str) -> type[UnitOfWork]:
    source = subprocess.run(
        ["git", "show", f"{ref}:services/common/src/backoffice_common/uow.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "DriverTransaction" not in source, "the old ref already has the new unit of work"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench_old_uow.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("bench_old_uow", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_old_uow"] = module
        spec.loader.exec_module(module)
    cls: type[UnitOfWork] = module.UnitOfWork
    return cls


Op = Callable[[Callable[[], UnitOfWork], str], Awaitable[None]]


async def consume(make: Callable[[], UnitOfWork], key: str) -> None:
    cause = new_event(type="bench.asked", service="bench", subject=key, data={"k": key})
    async with make() as uow:
        assert await uow.claim(consumer="bench", event=cause)
        conn = await driver_connection(uow.session)
        await conn.execute("INSERT INTO bench_item (id, version, body) VALUES ($1, 1, $2)", key, "x" * 100)
        uow.publish(new_event(type="bench.done", service="bench", subject=key, data={"k": key}), topic="t")
        await uow.set_outcome(event=cause, outcome="stored")
        await uow.commit()


async def command(make: Callable[[], UnitOfWork], key: str) -> None:
    async with make() as uow:
        rows = await fetch_beginning(uow.session, "SELECT id, version FROM bench_item WHERE id = $1 FOR UPDATE", key)
        version = rows[0]["version"]
        conn = await driver_connection(uow.session)
        await conn.execute("UPDATE bench_item SET version = $2, body = $3 WHERE id = $1", key, version + 1, "y" * 100)
        uow.publish(new_event(type="bench.changed", service="bench", subject=key, data={"v": version + 1}), topic="t")
        await uow.commit()


async def read(make: Callable[[], UnitOfWork], key: str) -> None:
    async with make() as uow:
        conn = await driver_connection(uow.session)
        row = await conn.fetchrow("SELECT id, version, body FROM bench_item WHERE id = $1", key)
        assert row is not None


async def orm(make: Callable[[], UnitOfWork], key: str) -> None:
    async with make() as uow:
        version = (await uow.session.execute(select(ITEM.c.version).where(ITEM.c.id == key))).scalar_one()
        await uow.session.execute(ITEM.update().where(ITEM.c.id == key).values(version=version + 1))
        uow.publish(new_event(type="bench.orm", service="bench", subject=key, data={"v": version + 1}), topic="t")
        await uow.commit()


async def uncommitted(make: Callable[[], UnitOfWork], key: str) -> None:
    cause = new_event(type="bench.asked", service="bench", subject=key, data={"k": key})
    async with make() as uow:
        await uow.claim(consumer="bench", event=cause)
        conn = await driver_connection(uow.session)
        await conn.execute("INSERT INTO bench_item (id, version, body) VALUES ($1, 1, $2)", key, "x")
        await uow.session.execute(ITEM.insert().values(id=key + "-orm", version=1, body="x"))
        uow.publish(new_event(type="bench.done", service="bench", subject=key, data={}), topic="t")


async def state(engine: AsyncEngine, name: str) -> dict[str, Any]:
    """What ``name``'s checks left, with the variant's name taken out of keys (comparable)."""
    async with engine.connect() as conn:
        items = (
            await conn.execute(
                text("SELECT replace(id, :n, 'V'), version, body FROM bench_item WHERE id LIKE :p ORDER BY 1"),
                {"n": name, "p": f"check-{name}-%"},
            )
        ).all()
        inbox = (
            await conn.execute(
                text("SELECT consumer, event_type, outcome FROM processed_event ORDER BY 1, 2, 3"),
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
    return {"items": [tuple(r) for r in items], "inbox": len(inbox), "outbox": [tuple(r) for r in outbox]}


async def run(n: int, rounds: int, ref: str) -> None:
    old_class = old_uow_class(ref)
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
        factory = make_session_factory(engine)
        async with engine.connect() as conn:
            pid = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        variants: dict[str, Callable[[], UnitOfWork]] = {
            "old": lambda: old_class(factory, tables=tables, service="bench"),
            "new": lambda: UnitOfWork(factory, tables=tables, service="bench"),
        }
        ops: dict[str, Op] = {"consume": consume, "command": command, "read": read, "orm": orm}

        # The same effects first: the same rows, the chain whole; nothing from a unit of work not committed.
        seen: dict[str, dict[str, Any]] = {}
        for name, make in variants.items():
            before = (await state(engine, name))["inbox"]
            for i in range(3):
                for op in ops.values():
                    await op(make, f"check-{name}-{i}")
            await uncommitted(make, f"check-{name}-dropped")
            seen[name] = await state(engine, name)
            seen[name]["inbox"] -= before
        assert seen["old"] == seen["new"], seen
        assert all("dropped" not in str(row) for row in seen["new"]["items"] + seen["new"]["outbox"])
        async with engine.connect() as conn:
            chain = [dict(r._mapping) for r in await conn.execute(text("SELECT * FROM audit_entry ORDER BY seq"))]
            in_tx = (
                await conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in%'"))
            ).scalar()
        assert verify_chain(chain) is None
        assert in_tx == 0, "a connection was left in a transaction"
        print(
            f"checked: both leave {len(seen['new']['items'])} items, {seen['new']['inbox']} inbox rows,"
            f" {len(seen['new']['outbox'])} outbox rows; audit chain of {len(chain)} verified; none left open"
        )

        for name, make in variants.items():  # warm-up: statement caches
            for i in range(30):
                for op in ops.values():
                    await op(make, f"warm-{name}-{i}")
        results: dict[tuple[str, str], tuple[list[float], list[float], list[float]]] = {
            (o, v): ([], [], []) for o in ops for v in variants
        }
        loads = [os.getloadavg()[0]]
        for r in range(rounds):
            order = list(variants.items()) if r % 2 == 0 else list(reversed(variants.items()))
            for name, make in order:
                for i in range(n):  # the rows the command, read and orm operations work on
                    await consume(make, f"{name}-{r}-{i}")
                for op_name, op in ops.items():
                    if op_name == "consume":
                        keys = [f"{name}-{r}-{i}-c" for i in range(n)]
                    else:
                        keys = [f"{name}-{r}-{i}" for i in range(n)]
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
        f"unit of work, old ({ref}) against new, {rounds} rounds x {n} per operation, alternated;"
        f" load {min(loads):.1f}-{max(loads):.1f}"
    )
    print(f"{'':10}{'':5}{'client ms':>10}{'backend ms':>11}{'wall ms':>9}")
    for op_name in ops:
        for name in variants:
            client, server, wall = results[(op_name, name)]
            print(
                f"  {op_name:8}{name:5}{statistics.median(client):10.3f}{statistics.median(server):11.3f}"
                f"{statistics.median(wall):9.3f}"
            )
        c = [statistics.median(results[(op_name, v)][0]) for v in variants]
        s = [statistics.median(results[(op_name, v)][1]) for v in variants]
        print(f"  {op_name:8}new/old client {c[1] / c[0]:.2f}, backend {s[1] / s[0] if s[0] else float('nan'):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--old-ref", default="34dbaed", help="the commit whose uow.py is 'old'")
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds, args.old_ref))


if __name__ == "__main__":
    main()
