"""What a read costs before its statement: the ways to get a connection for one read-only statement
(not a test).

Against a private database of the current profile's PostgreSQL, one ``SELECT`` of a 1 KB row each way,
alternated round by round, client CPU per read (``time.process_time``), medians of ``--rounds``:

- ``session``: what a unit of work did for a read: a SQLAlchemy session, ``driver_connection`` (pool
  checkout, the empty statement that makes SQLAlchemy send BEGIN), the statement on asyncpg, the
  rollback and the close;
- ``read_connection``: ``backoffice_common.db.read_connection``: the engine's pooled connection checked
  out without a transaction (``AsyncEngine.raw_connection()``), the statement on asyncpg, returned to
  the pool (no rollback sent: nothing was begun);
- ``asyncpg_pool``: an ``asyncpg`` pool of its own (its release's reset replaced by nothing, else it
  sends ``RESET ALL`` and more at each release), the statement;
- ``bare``: one kept asyncpg connection, the statement alone (the floor).

    source deploy/env.sh && .venv/bin/python services/common/bench/read_connection_cpu.py --n 2000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice_common.db import asyncpg_dsn, driver_connection, make_engine, make_session_factory, read_connection
from backoffice_common.testing import private_database

SQL = "SELECT body FROM bench_read WHERE id = $1"


async def _no_reset(_: asyncpg.Connection) -> None:
    return None


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    async with private_database(None) as url:
        dsn = asyncpg_dsn(url)
        conn = await asyncpg.connect(dsn)
        await conn.execute("CREATE TABLE bench_read (id int PRIMARY KEY, body text NOT NULL)")
        await conn.execute("INSERT INTO bench_read VALUES (1, $1)", "x" * 1024)
        engine: AsyncEngine = make_engine(url, pool_size=2)
        sessions = make_session_factory(engine)
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2, reset=_no_reset)

        async def session() -> str:
            async with sessions() as s:
                try:
                    driver = await driver_connection(s)
                    return str(await driver.fetchval(SQL, 1))
                finally:
                    await s.rollback()

        async def via_engine() -> str:
            async with read_connection(engine) as driver:
                return str(await driver.fetchval(SQL, 1))

        async def via_pool() -> str:
            async with pool.acquire() as driver:
                return str(await driver.fetchval(SQL, 1))

        async def bare() -> str:
            return str(await conn.fetchval(SQL, 1))

        ways: dict[str, Callable[[], Awaitable[str]]] = {
            "session": session,
            "read_connection": via_engine,
            "asyncpg_pool": via_pool,
            "bare": bare,
        }
        answers = {name: await way() for name, way in ways.items()}
        assert len(set(answers.values())) == 1, answers
        ms: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, way in ways.items():
                started = time.process_time()
                for _ in range(args.n):
                    await way()
                ms[name].append((time.process_time() - started) / args.n * 1000)
        await pool.close()
        await engine.dispose()
        await conn.close()
    print(f"load average {os.getloadavg()[0]:.1f}; client CPU per read, medians of {args.rounds} rounds of {args.n}")
    floor = statistics.median(ms["bare"])
    for name, values in ms.items():
        m = statistics.median(values)
        print(f"  {name:<16} {m:.3f} ms  ({m / floor:.2f}x the statement alone)")


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
