"""CPU of a decision's answer once the decision is committed: the task read back on a read connection (the sixth
round's ``task_row_now``) against the row built from the decided task in memory (``repository.chains.stored_task``)
(not a test).

Seeded as ``reads_cpu.seed`` (a chain of 3 tasks); the chain is loaded as a decision loads it
(``ChainRepository.of_task``) and one task decided in memory. Before timing, the stored row is made that task's
(``ChainRepository.save``, committed), and both answers must be the same JSON, byte for byte. Reported: client
CPU (this process) and backend CPU (``/proc`` of PostgreSQL's process) per answer, medians of ``--rounds``
rounds, alternated.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/approvals/bench/decision_answer_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reads_cpu import MIGRATIONS, backend_cpu, seed

from backoffice_approvals.api.tasks import task_read
from backoffice_approvals.domain.people import Person
from backoffice_approvals.models import messaging
from backoffice_approvals.repository.chains import stored_task
from backoffice_approvals.repository.reads import task_row_now
from backoffice_approvals.service.planning import now_utc
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_common.db import make_session_factory, read_connection
from backoffice_common.testing import private_database


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        task_id = await seed(factory)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        async with ApprovalsUnitOfWork(factory, tables=messaging, service="approvals") as uow:
            chain = await uow.chains.of_task(task_id, lock=True)
            assert chain is not None
            task = chain.task(task_id)
            now = now_utc()
            task.status, task.decision, task.comment = "approved", "approved", "fine by me, ü ß"
            task.decided_by = Person(id="user-21", name="User 21", email="user21@x.test", language="de")
            task.decided_on_behalf_of = task.assignee
            task.decided_at = now
            await uow.chains.save(chain, now=now)
            await uow.commit()
        steps = [s.as_dict() for s in chain.steps]

        async def read_back() -> str:
            async with read_connection(engine) as conn:  # the pool's only connection: the unit of work gave it back
                row = await task_row_now(conn, task_id)
            return task_read(row, steps=steps).model_dump_json()

        async def in_memory() -> str:
            return task_read(stored_task(chain, task), steps=steps).model_dump_json()

        assert await read_back() == await in_memory()
        print("the same answer, byte for byte")
        results: dict[str, tuple[list[float], list[float]]] = {}
        for _ in range(rounds):
            for how, answer in (("read back", read_back), ("in memory", in_memory)):
                c0, s0 = time.process_time(), backend_cpu(pid)
                for _ in range(n):
                    await answer()
                client, backend = results.setdefault(how, ([], []))
                client.append((time.process_time() - c0) / n * 1000)
                backend.append((backend_cpu(pid) - s0) / n * 1000)
        await engine.dispose()
    print(f"ms per answer, medians of {rounds} rounds of {n}; load {os.getloadavg()[0]:.1f}")
    for key, (client, backend) in results.items():
        print(f"  {key:<10} client {statistics.median(client):6.3f}   backend {statistics.median(backend):6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
