"""CPU of ``driver_connection``: the private adapter begin it had against the public API it uses (not a test).

One unit of work as a command's raw path runs it, against the current profile's PostgreSQL (a
private database, dropped after): open a session, take the asyncpg connection through
``driver_connection`` (which begins the transaction), run three raw statements (an INSERT and two
reads), commit. ``private``: the earlier implementation (copied below: BEGIN through the private
attributes of SQLAlchemy's asyncpg adapter); ``public``: ``backoffice_common.db.driver_connection``
(an empty statement through SQLAlchemy begins it). Alternated round by round in the same run;
client CPU (this process) and backend CPU (``/proc`` of the connection's PostgreSQL process) per unit
of work, medians. Before timing, both are checked to commit what they wrote and to roll back what they
did not commit.

    source deploy/env.sh && .venv/bin/python services/common/bench/driver_connection_cpu.py --n 500 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from backoffice_common.db import driver_connection, make_session_factory
from backoffice_common.testing import private_database

TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def private_driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The earlier implementation, on SQLAlchemy's private adapter attributes."""
    connection = await session.connection()
    fairy = await connection.get_raw_connection()
    adapted: Any = fairy.dbapi_connection
    if adapted._transaction is None and adapted.isolation_level != "autocommit":
        async with adapted._execute_mutex:
            if adapted._transaction is None:
                await adapted._start_transaction()
    driver: asyncpg.Connection = adapted._connection
    return driver


Variant = Callable[[AsyncSession], Awaitable[asyncpg.Connection]]


async def unit(session: AsyncSession, variant: Variant, key: str, *, commit: bool) -> None:
    conn = await variant(session)
    await conn.execute("INSERT INTO bench_row (key, body) VALUES ($1, $2)", key, "x" * 200)
    conn = await variant(session)
    await conn.fetchval("SELECT body FROM bench_row WHERE key = $1", key)
    conn = await variant(session)
    await conn.fetchval("SELECT count(*) FROM bench_row WHERE key = $1", key)
    if commit:
        await session.commit()
    else:
        await session.rollback()


async def run(n: int, rounds: int) -> None:
    async with private_database() as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE bench_row (key text PRIMARY KEY, body text NOT NULL)"))
        factory = make_session_factory(engine)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        variants: dict[str, Variant] = {"private": private_driver_connection, "public": driver_connection}
        for name, variant in variants.items():  # both commit what they commit, and only that
            async with factory() as session:
                await unit(session, variant, f"check-{name}-kept", commit=True)
            async with factory() as session:
                await unit(session, variant, f"check-{name}-dropped", commit=False)
            async with engine.connect() as conn:
                keys = set((await conn.execute(text("SELECT key FROM bench_row WHERE key LIKE 'check-%'"))).scalars())
                assert f"check-{name}-kept" in keys
                assert f"check-{name}-dropped" not in keys, name

        results: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in variants}
        for name, variant in variants.items():  # warm-up
            for i in range(50):
                async with factory() as session:
                    await unit(session, variant, f"warm-{name}-{i}", commit=True)
        for r in range(rounds):
            for name, variant in variants.items():
                c0, s0 = time.process_time(), backend_cpu(pid)
                for i in range(n):
                    async with factory() as session:
                        await unit(session, variant, f"{name}-{r}-{i}", commit=True)
                results[name][0].append((time.process_time() - c0) / n * 1000)
                results[name][1].append((backend_cpu(pid) - s0) / n * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"driver_connection, {rounds} x {n} units of work per variant, alternated; load {load[0]:.2f}/{load[1]:.2f}")
    print(f"{'':12}{'client ms':>10}{'backend ms':>11}")
    for name, (client, server) in results.items():
        print(f"  {name:10}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")
    c = statistics.median(results["public"][0]) / statistics.median(results["private"][0])
    s = statistics.median(results["public"][1]) / statistics.median(results["private"][1])
    print(f"  public/private client {c:.2f}, backend {s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
