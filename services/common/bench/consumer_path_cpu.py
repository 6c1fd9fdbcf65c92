"""The shared consumer's whole per-event path, old unit of work against new, alternated in one run (not a test).

``EventConsumer._process`` per record, as the poll loop's lane calls it: decode the envelope, the
consume span, the log context, the inbox claim, the handler (a small write through
``driver_connection`` and one event published, as most services' handlers), the outcome, commit
(audit chain, outbox, NOTIFY), the metrics. ``old``: the unit of work of ``--old-ref`` (loaded as
``driver_uow_cpu.py`` does); ``new``: this checkout's. Both first handle the same records into their
own tables and are compared (effects, inbox, outbox); a record handled twice is a duplicate for both.
Then rounds alternate; client CPU (this process), backend CPU (``/proc`` of the pool's one backend),
wall per event, medians. ``--profile`` prints where the new path's client CPU goes (cProfile).

    source deploy/env.sh && .venv/bin/python services/common/bench/consumer_path_cpu.py --n 300 --rounds 6
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import time
from typing import Any

from aiokafka import ConsumerRecord
from driver_uow_cpu import backend_cpu, old_uow_class
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backoffice_common.audit import create_audit_head, create_audit_table
from backoffice_common.consumer import EventConsumer
from backoffice_common.db import driver_connection, make_session_factory, new_metadata
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.messaging import messaging_tables
from backoffice_common.testing import private_database
from backoffice_common.uow import UnitOfWork


async def handler(event: CloudEvent, uow: Any) -> str:
    conn = await driver_connection(uow.session)
    await conn.execute(
        "INSERT INTO bench_effect (event_id, key) VALUES ($1, $2)",
        event.id,
        event.subject or "",
    )
    uow.publish(new_event(type="bench.done", service="bench", subject=event.subject, data={"of": event.id}), topic="t")
    return "stored"


def record(event: CloudEvent, offset: int) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord(
        topic="bench.in",
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=(event.subject or "").encode(),
        value=event.to_json_bytes(),
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=[],
    )


async def run(n: int, rounds: int, ref: str, profile: bool) -> None:
    old_class = old_uow_class(ref)
    async with private_database() as url:
        metadata = new_metadata()
        tables = messaging_tables(metadata, audit=True)
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        async with engine.begin() as conn:
            await conn.run_sync(tables.outbox.create)
            await conn.run_sync(tables.inbox.create)
            await conn.run_sync(create_audit_table)
            await conn.run_sync(create_audit_head)
            await conn.execute(
                text("CREATE TABLE bench_effect (id bigserial PRIMARY KEY, event_id text NOT NULL, key text NOT NULL)")
            )
        factory = make_session_factory(engine)
        async with engine.connect() as conn:
            pid = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())

        def consumer(name: str, uow_class: type[UnitOfWork]) -> EventConsumer:
            return EventConsumer(
                service="bench",
                bootstrap_servers="127.0.0.1:1",
                group_id="bench",
                topics=["bench.in"],
                handlers={"bench.asked": handler},
                uow_factory=lambda: uow_class(factory, tables=tables, service="bench"),
                producer_factory=lambda: None,  # type: ignore[arg-type,return-value]
                consumer_name=name,
            )

        variants: dict[str, EventConsumer] = {"old": consumer("old", old_class), "new": consumer("new", UnitOfWork)}
        offset = 0

        def records(prefix: str, count: int) -> list[ConsumerRecord[Any, Any]]:
            nonlocal offset
            out = []
            for i in range(count):
                offset += 1
                out.append(
                    record(new_event(type="bench.asked", service="bench", subject=f"{prefix}-{i}", data={}), offset)
                )
            return out

        # the same effects first: each handles the same records (one of them twice)
        same = records("check", 3)
        for name, c in variants.items():
            for r in [*same, same[0]]:
                await c._process(r)
            assert c.handled == 4, (name, c.handled)
        async with engine.connect() as conn:
            effects = (await conn.execute(text("SELECT count(*) FROM bench_effect"))).scalar()
            inbox = (
                await conn.execute(
                    text("SELECT consumer, outcome, count(*) FROM processed_event GROUP BY 1, 2 ORDER BY 1")
                )
            ).all()
            outbox = (await conn.execute(text("SELECT count(*) FROM outbox_message"))).scalar()
        assert effects == 6, effects  # three each: the repeat was a duplicate for both
        assert [tuple(r) for r in inbox] == [("new", "stored", 3), ("old", "stored", 3)], inbox
        assert outbox == 6, outbox
        print(f"checked: effects {effects}, inbox {[tuple(r) for r in inbox]}, outbox {outbox}")

        for name, c in variants.items():  # warm-up
            for r in records(f"warm-{name}", 50):
                await c._process(r)
        results: dict[str, tuple[list[float], list[float], list[float]]] = {v: ([], [], []) for v in variants}
        loads = [os.getloadavg()[0]]
        for rnd in range(rounds):
            order = list(variants.items()) if rnd % 2 == 0 else list(reversed(variants.items()))
            for name, c in order:
                batch = records(f"{name}-{rnd}", n)
                c0, s0, w0 = time.process_time(), backend_cpu(pid), time.perf_counter()
                for r in batch:
                    await c._process(r)
                results[name][0].append((time.process_time() - c0) / n * 1000)
                results[name][1].append((backend_cpu(pid) - s0) / n * 1000)
                results[name][2].append((time.perf_counter() - w0) / n * 1000)
            loads.append(os.getloadavg()[0])
        if profile:
            batch = records("profiled", n)
            prof = cProfile.Profile()
            prof.enable()
            for r in batch:
                await variants["new"]._process(r)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
        await engine.dispose()
    print(
        f"consumer per event (_process: decode, span, claim, handler, outcome, commit), old ({ref}) against new,"
        f" {rounds} x {n}, alternated; load {min(loads):.1f}-{max(loads):.1f}"
    )
    for name, (client, server, wall) in results.items():
        print(
            f"  {name}: client {statistics.median(client):.3f} ms, backend {statistics.median(server):.3f} ms,"
            f" wall {statistics.median(wall):.3f} ms"
        )
    c = statistics.median(results["new"][0]) / statistics.median(results["old"][0])
    s = statistics.median(results["new"][1]) / statistics.median(results["old"][1])
    print(f"  new/old client {c:.2f}, backend {s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--old-ref", default="34dbaed")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds, args.old_ref, args.profile))


if __name__ == "__main__":
    main()
