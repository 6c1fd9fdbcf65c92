"""An audited unit of work, the audit chain's head read by a round trip of its own against the chain appended
by the database's function in the commit statement, alternated in one run (not a test).

``old``: the unit of work of ``--old`` (loaded from git; default ``ded235e``, the eighth round's): ``SELECT seq,
hash FROM audit_entry_head()`` (lock and head, one round trip), the entries hashed in Python and inserted by the
commit statement, then COMMIT. ``new``: this checkout's: the commit statement calls ``audit_entry_append(...)``
(lock, head, hash and insert in the database), then COMMIT. Each variant gets its own private database of the
current profile's PostgreSQL with both functions (``create_audit_head``).

Operations:

- ``consume``: a consumer's unit of work: claim, one event published, outcome, commit (the audit chain on).
- ``command``: a command: the transaction begun by a read, three events published, commit.
- ``concurrent``: ``consume`` by 4 tasks at once on a pool of 4 connections (they queue on the chain's lock).

Both variants first run the same operations with the same events (fixed ids and times): the chains must be
equal row for row (seq, request_id, content, prev_hash and **hash**: the database's SHA-256 against Python's),
the inbox and outbox rows too, and every chain verifies. Then rounds alternate old and new: client CPU (this
process), backend CPU (``/proc`` of the database's backends), wall, per unit of work; medians of rounds.

    source deploy/env.sh && .venv/bin/python services/common/bench/audit_append_cpu.py --n 300 --rounds 6
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
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backoffice_common.audit import create_audit_head, create_audit_table, verify_chain
from backoffice_common.db import make_session_factory, new_metadata
from backoffice_common.events import CloudEvent
from backoffice_common.messaging import MessagingTables, messaging_tables
from backoffice_common.testing import private_database
from backoffice_common.uow import UnitOfWork

TICKS = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parents[3]
AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def old_unit_of_work(commit: str) -> type[UnitOfWork]:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:services/common/src/backoffice_common/uow.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "old_uow.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_uow", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_uow"] = module
    spec.loader.exec_module(module)
    return module.UnitOfWork  # type: ignore[no-any-return]


def cpu_of(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def done(i: int, n: int = 0, *, kind: str = "consumed") -> CloudEvent:
    return CloudEvent(
        id=f"{kind}-{i}-{n}",
        source="backoffice/bench",
        type="bench.done",
        subject=f"key-{i % 50}",
        time=AT,
        data={"request_id": f"r-{i % 50}", "i": i, "note": 'Grüße \\ "q" \n'},
    )


class Variant:
    def __init__(self, name: str, cls: type[UnitOfWork], engine: AsyncEngine, tables: MessagingTables, db: str):
        self.name = name
        self.engine = engine
        self.db = db
        factory = make_session_factory(engine)
        self.uow: Callable[[], UnitOfWork] = lambda: cls(factory, tables=tables, service="bench")
        self.results: dict[str, dict[str, list[float]]] = {}

    async def consume(self, i: int) -> None:
        cause = CloudEvent(id=f"cause-{i}", source="backoffice/bench", type="bench.asked", subject=f"key-{i % 50}")
        async with self.uow() as uow:
            if not await uow.claim(consumer="bench", event=cause):
                return
            uow.publish(done(i), topic="t")
            await uow.set_outcome(event=cause, outcome=f"published done-{i}")
            await uow.commit()

    async def command(self, i: int) -> None:
        async with self.uow() as uow:
            conn = await uow._driver()  # the transaction begun, as a command's first read does
            await conn.fetchval("SELECT 1")
            for n in range(3):
                uow.publish(done(i, n, kind="commanded"), topic="t")
            await uow.commit()

    async def concurrent(self, i: int) -> None:
        await asyncio.gather(*(self.consume(i * 4 + k) for k in range(4)))

    async def pids(self) -> list[int]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"),
                {"db": self.db},
            )
            return [int(r[0]) for r in rows]

    async def rows(self) -> tuple[list[Any], ...]:
        queries = (
            "SELECT consumer, event_id, outcome FROM processed_event ORDER BY 2",
            "SELECT topic, key, event_id, value FROM outbox_message ORDER BY id",
            "SELECT seq, request_id, content, prev_hash, hash FROM audit_entry ORDER BY seq",
        )
        async with self.engine.connect() as conn:
            return tuple([[tuple(r) for r in (await conn.execute(text(q))).all()] for q in queries])


OPERATIONS = {"consume": 1, "command": 1, "concurrent": 4}


async def run(old: str, n: int, rounds: int) -> None:
    async with AsyncExitStack() as stack:
        variants: list[Variant] = []
        for name, cls in (("old", old_unit_of_work(old)), ("new", UnitOfWork)):
            url = await stack.enter_async_context(private_database())
            tables = messaging_tables(new_metadata(), audit=True)
            engine = create_async_engine(url, pool_size=4, max_overflow=0)
            stack.push_async_callback(engine.dispose)
            async with engine.begin() as conn:
                await conn.run_sync(tables.outbox.create)
                await conn.run_sync(tables.inbox.create)
                await conn.run_sync(create_audit_table)
                await conn.run_sync(create_audit_head)  # both functions
            variants.append(Variant(name, cls, engine, tables, url.rsplit("/", 1)[1]))
        for v in variants:  # warm-up (statement caches) with the same events, serial: the same rows
            for i in range(30):
                await v.consume(-1 - i)
                await v.command(-1 - i)
            await v.consume(-1)  # a duplicate: claimed before, nothing written
        old_rows, new_rows = await variants[0].rows(), await variants[1].rows()
        assert old_rows == new_rows, "the old and the new unit of work wrote different rows (or hashes)"
        assert len(new_rows[2]) == 120
        offset = 0
        for r in range(rounds):
            for op, per in OPERATIONS.items():
                for v in variants if r % 2 == 0 else reversed(variants):
                    pids = await v.pids()
                    c0, s0, w0 = time.process_time(), cpu_of(pids), time.perf_counter()
                    for i in range(n // per):
                        await getattr(v, op)(offset + i)
                    units = n // per * per
                    series = v.results.setdefault(op, {"client": [], "backend": [], "wall": []})
                    series["client"].append((time.process_time() - c0) / units * 1000)
                    series["backend"].append((cpu_of(pids) - s0) / units * 1000)
                    series["wall"].append((time.perf_counter() - w0) / units * 1000)
                offset += n
        for v in variants:
            async with v.engine.connect() as conn:
                chain = [dict(r._mapping) for r in await conn.execute(text("SELECT * FROM audit_entry ORDER BY seq"))]
            assert verify_chain(chain) is None, f"{v.name}: the chain does not verify"
            assert [r["seq"] for r in chain] == list(range(1, len(chain) + 1))
    load = os.getloadavg()
    print(f"audited units of work, old {old} against this checkout, {rounds} rounds x {n}, load {load[0]:.2f}")
    for op in OPERATIONS:
        old_v, new_v = (v.results[op] for v in variants)
        cells = []
        for what in ("client", "backend", "wall"):
            a, b = statistics.median(old_v[what]), statistics.median(new_v[what])
            cells.append(f"{what} {a:.3f} -> {b:.3f} ms ({b / a if a else float('nan'):.2f})")
        both_old = statistics.median([c + s for c, s in zip(old_v["client"], old_v["backend"], strict=True)])
        both_new = statistics.median([c + s for c, s in zip(new_v["client"], new_v["backend"], strict=True)])
        print(f"  {op}: {', '.join(cells)}, both {both_old:.3f} -> {both_new:.3f} ({both_new / both_old:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", default="ded235e")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(run(args.old, args.n, args.rounds))


if __name__ == "__main__":
    main()
