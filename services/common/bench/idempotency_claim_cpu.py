"""A command's Idempotency-Key claim as its transaction's first statement, two ways, alternated in one run
(not a test).

"old" is ``IdempotencyStore.claim`` as it is: ``driver_connection`` (an empty statement through
SQLAlchemy's adapter to begin the transaction), then the INSERT on asyncpg. "new" was tried in the sixth
round and measured costlier, so not kept: the claim through ``fetchval_beginning`` (the adapter sends
BEGIN, then the INSERT, and SQLAlchemy builds its result): one round trip less, more Python.
Per command: open a session, claim, store the answer, commit. Each variant on its own private database
of the current profile's PostgreSQL; before and after timing both hold the same rows (compared).
Client CPU (this process), backend CPU (``/proc`` of the connection's PostgreSQL process), wall, per
command; medians of rounds.

    source deploy/env.sh && .venv/bin/python services/common/bench/idempotency_claim_cpu.py --n 300 --rounds 6
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backoffice_common.db import fetchval_beginning, make_session_factory, new_metadata
from backoffice_common.idempotency import TABLE, IdempotencyStore, idempotency_table
from backoffice_common.testing import private_database

TICKS = os.sysconf("SC_CLK_TCK")


class BeginningIdempotencyStore(IdempotencyStore):
    async def claim(self, *, user_id: str, key: str, fingerprint: str) -> bool:
        claimed = await fetchval_beginning(
            self.session,
            f"INSERT INTO {TABLE} (user_id, key, fingerprint) VALUES ($1, $2, $3)"  # noqa: S608
            " ON CONFLICT (user_id, key) DO NOTHING RETURNING key",
            user_id,
            key,
            fingerprint,
        )
        return claimed is not None


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Variant:
    def __init__(self, name: str, cls: type[IdempotencyStore], engine: AsyncEngine) -> None:
        self.name, self.cls, self.engine = name, cls, engine
        self.sessions = make_session_factory(engine)
        self.pid = 0
        self.client: list[float] = []
        self.server: list[float] = []
        self.wall: list[float] = []

    async def one(self, i: int) -> None:
        async with self.sessions() as session:
            store = self.cls(session)
            if await store.claim(user_id="bench", key=f"k-{i}", fingerprint="f"):
                await store.store(user_id="bench", key=f"k-{i}", status_code=201, body={"i": i}, headers={})
            await session.commit()

    async def rows(self) -> list[Any]:
        async with self.engine.connect() as conn:
            q = text(f"SELECT user_id, key, fingerprint, status_code, body FROM {TABLE} ORDER BY key")  # noqa: S608
            return [tuple(r) for r in (await conn.execute(q)).all()]


async def run(n: int, rounds: int) -> None:
    async with AsyncExitStack() as stack:
        variants: list[Variant] = []
        for name, cls in (("old", IdempotencyStore), ("new", BeginningIdempotencyStore)):
            url = await stack.enter_async_context(private_database())
            engine = create_async_engine(url, pool_size=1, max_overflow=0)
            stack.push_async_callback(engine.dispose)
            async with engine.begin() as conn:
                await conn.run_sync(idempotency_table(new_metadata()).create)
            variant = Variant(name, cls, engine)
            async with engine.connect() as conn:
                variant.pid = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            variants.append(variant)
        for v in variants:
            for i in range(50):
                await v.one(-1 - i)
            await v.one(-1)  # a key used before: nothing stored
        assert await variants[0].rows() == await variants[1].rows(), "different rows"
        for r in range(rounds):
            for v in variants if r % 2 == 0 else reversed(variants):
                c0, s0, w0 = time.process_time(), backend_cpu(v.pid), time.perf_counter()
                for i in range(n):
                    await v.one(r * n + i)
                v.client.append((time.process_time() - c0) / n * 1000)
                v.server.append((backend_cpu(v.pid) - s0) / n * 1000)
                v.wall.append((time.perf_counter() - w0) / n * 1000)
        assert await variants[0].rows() == await variants[1].rows(), "different rows"
    load = os.getloadavg()
    print(
        f"command with Idempotency-Key (claim + store + commit), {rounds} x {n} each, load {load[0]:.2f}/{load[1]:.2f}"
    )
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
