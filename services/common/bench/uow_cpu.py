"""CPU of one consumer unit of work on the messaging path (not a test).

What the consumer does per handled event, sequentially, against the current profile's PostgreSQL
(a private database, dropped after): open a unit of work, claim the event in the inbox, publish
one event (outbox row + NOTIFY, plus the audit chain with ``--audit``), commit. Reported: the
client's CPU (this process) and the backend's (``/proc`` of the connection's PostgreSQL process)
per unit of work, and the wall time; medians of ``--rounds`` rounds of ``--n`` units of work.

    source deploy/env.sh && .venv/bin/python services/common/bench/uow_cpu.py --n 500 --rounds 5 --audit
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backoffice_common.audit import create_audit_table
from backoffice_common.db import make_session_factory, new_metadata
from backoffice_common.events import new_event
from backoffice_common.messaging import messaging_tables
from backoffice_common.testing import private_database
from backoffice_common.uow import UnitOfWork

TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def run(n: int, rounds: int, audit: bool) -> None:
    async with private_database() as url:
        metadata = new_metadata()
        tables = messaging_tables(metadata, audit=audit)
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        async with engine.begin() as conn:
            await conn.run_sync(tables.outbox.create)
            await conn.run_sync(tables.inbox.create)
            if audit:
                await conn.run_sync(create_audit_table)
        factory = make_session_factory(engine)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())

        async def one(i: int) -> None:
            cause = new_event(type="bench.asked", service="bench", subject=f"key-{i % 50}", data={"i": i})
            async with UnitOfWork(factory, tables=tables, service="bench") as uow:
                await uow.claim(consumer="bench", event=cause)
                done = new_event(type="bench.done", service="bench", subject=cause.subject, data={"i": i})
                uow.publish(done, topic="t")
                await uow.commit()

        for i in range(50):  # warm-up: statement caches, the pool's one connection
            await one(-1 - i)
        client, server, wall = [], [], []
        for r in range(rounds):
            c0, s0, w0 = time.process_time(), backend_cpu(pid), time.perf_counter()
            for i in range(n):
                await one(r * n + i)
            client.append((time.process_time() - c0) / n * 1000)
            server.append((backend_cpu(pid) - s0) / n * 1000)
            wall.append((time.perf_counter() - w0) / n * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(f"unit of work (claim + 1 event{' + audit' if audit else ''} + commit), {rounds} x {n}, load {load[0]:.2f}")
    print(f"  client CPU  {statistics.median(client):6.3f} ms   (rounds {', '.join(f'{x:.3f}' for x in client)})")
    print(f"  backend CPU {statistics.median(server):6.3f} ms   (rounds {', '.join(f'{x:.3f}' for x in server)})")
    print(f"  wall        {statistics.median(wall):6.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--audit", action="store_true", help="the service keeps an audit log (most do)")
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds, args.audit))


if __name__ == "__main__":
    main()
