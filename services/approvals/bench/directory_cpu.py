"""A directory load and the routing questions on it, by directory size: every approver read per use case (as
before migration 0009) against the directory kept under its version (``repository.people.directory_on``).
Not a test.

``old`` (copied below): every approver in one statement, decoded (the jsonb columns by SQLAlchemy's codec, as in
the service) into a scanning ``Directory``. ``new``: the version in one small statement, the kept indexed
``Directory``. Each is then asked what a routing asks (the requester's management chain, a department's head, a
group's members). Same database and connection for both, alternated round by round; checked first: both give
equal directories and equal answers. Reported per use case: client CPU (this process) and the backend's
(``/proc``).

    export BACKOFFICE_PROFILE=test; source deploy/env.sh
    .venv/bin/python services/approvals/bench/directory_cpu.py --sizes 59,455,5000 --n 200 --rounds 4
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any

import backoffice_approvals
from backoffice_approvals.domain.people import Approver, Directory
from backoffice_approvals.repository.people import DirectoryRepository, _approver, directory_on
from backoffice_common.db import make_engine, make_session_factory, read_connection
from backoffice_common.testing import private_database

MIGRATIONS = Path(backoffice_approvals.__file__).parent / "migrations"
TICKS = os.sysconf("SC_CLK_TCK")
OLD_SQL = (
    "SELECT id, name, email, manager_id, department, head_of, groups, limit_amount, limit_currency, active, language"
    " FROM approver"
)


def cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def company(size: int) -> list[Approver]:
    """A CEO, department heads, managers of ten, the rest in seven groups."""
    people = [Approver("ceo", "CEO", "ceo@example.com")]
    departments = max(1, size // 50)
    for d in range(departments):
        people.append(
            Approver(f"h{d}", f"Head {d}", f"h{d}@example.com", manager_id="ceo", head_of=frozenset({f"D{d}"}))
        )
    i = 0
    while len(people) < size:
        d = i % departments
        manager = f"h{d}" if i < departments * 5 else f"p{(i // 10) % (departments * 5)}"
        people.append(
            Approver(f"p{i}", f"P {i}", f"p{i}@example.com", manager_id=manager, department=f"D{d}",
                     groups=frozenset({f"g{i % 7}"}))
        )  # fmt: skip
        i += 1
    return people


async def old_load(conn: Any) -> Directory:
    return Directory.of(_approver(r) for r in await conn.fetch(OLD_SQL))


def route(directory: Directory, requester: str) -> tuple[Any, ...]:
    chain, current = [], requester
    while (manager := directory.manager_of(current)) is not None and len(chain) < 5:
        chain.append(manager.id)
        current = manager.id
    return tuple(chain), directory.head_of("D3"), tuple(a.id for a in directory.members_of("g3"))


async def measure(size: int, n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = make_engine(url, pool_size=1)
        try:
            async with make_session_factory(engine)() as session, session.begin():
                await DirectoryRepository(session).upsert(company(size))
            async with read_connection(engine) as conn:
                backend = await conn.fetchval("SELECT pg_backend_pid()")
                requester = f"p{size - 60}"
                old, new = await old_load(conn), await directory_on(conn)
                assert old.approvers == new.approvers
                assert route(old, requester) == route(new, requester)
                figures: dict[str, tuple[list[float], list[float]]] = {"old": ([], []), "new": ([], [])}
                for r in range(rounds):
                    for name in ("old", "new") if r % 2 == 0 else ("new", "old"):
                        load = old_load if name == "old" else directory_on
                        c0, b0 = time.process_time(), cpu_of(backend)
                        for _ in range(n):
                            route(await load(conn), requester)
                        figures[name][0].append((time.process_time() - c0) / n * 1000)
                        figures[name][1].append((cpu_of(backend) - b0) / n * 1000)
            line = [f"{size:5d} approvers:"]
            for name, (client, server) in figures.items():
                c, s = statistics.median(client), statistics.median(server)
                line.append(f"{name} client {c:.3f} + backend {s:.3f} = {c + s:.3f} ms")
            print("  ".join(line), f"load {os.getloadavg()[0]:.1f}", flush=True)
        finally:
            await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="59,455,5000")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        await measure(size, args.n, args.rounds)


if __name__ == "__main__":
    asyncio.run(main())
