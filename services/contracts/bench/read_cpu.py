"""``GET /contracts/{id}``'s reads: the unit of work's three statements against ``contract_views``' one on a
read connection (not a test).

A private, migrated database of the current profile's PostgreSQL with one contract, two signatures and one
refusal. ``session``: what the route did before, a SQLAlchemy session, ``row``, ``signature_rows`` and
``refusal_rows`` (the first through ``driver_connection``'s BEGIN), the rollback and the close; ``now``:
``read_connection`` and ``contract_views``. Both give the same rows (checked first); client CPU
(``time.process_time``) and the backend's (``/proc`` of the one pooled connection's PostgreSQL process)
per read, alternated round by round, medians of ``--rounds``.

    source deploy/env.sh && .venv/bin/python services/contracts/bench/read_cpu.py --n 1000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import backoffice_contracts
from backoffice_common.db import make_engine, make_session_factory, read_connection
from backoffice_common.testing import private_database
from backoffice_contracts.repository.contracts import ContractRepository, contract_views

MIGRATIONS = Path(backoffice_contracts.__file__).parent / "migrations"
TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    async with private_database(MIGRATIONS) as url:
        engine = make_engine(url, pool_size=1)
        sessions = make_session_factory(engine)
        contract_id, now = str(uuid.uuid4()), datetime.now(UTC)
        async with read_connection(engine) as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            await conn.execute(
                "INSERT INTO contract (id, request_id, revision, request_number, vendor_id, requester_id, language,"
                " template_version, status, signing_order, document_key, document_sha256, data, generated_at,"
                " expires_at) VALUES ($1, $2, 1, 'PR-1', $3, 'alice', 'en', 1, 'awaiting_signatures', 'any',"
                " 'k', $4, $5::jsonb, $6, $7)",
                contract_id, str(uuid.uuid4()), str(uuid.uuid4()), "ab" * 32, json.dumps({"x": 1}), now,
                now + timedelta(days=30),
            )  # fmt: skip
            for party in ("vendor", "buyer"):
                await conn.execute(
                    "INSERT INTO contract_signature (id, contract_id, party, signer_id, signer_name, signer_email,"
                    " role, document_sha256, signed_at, channel) VALUES ($1, $2, $3, 's', 'S', 's@x.test', 'r',"
                    " $4, $5, 'api')",
                    str(uuid.uuid4()), contract_id, party, "ab" * 32, now,
                )  # fmt: skip
            await conn.execute(
                "INSERT INTO signature_refusal (id, contract_id, party, signer_name, signer_email, document_sha256,"
                " reason, detail, channel) VALUES ($1, $2, 'vendor', 'V', 'v@x.test', 'cd', 'already_signed', '',"
                " 'webhook')",
                str(uuid.uuid4()), contract_id,
            )  # fmt: skip

        async def session() -> Any:
            async with sessions() as s:
                try:
                    repository = ContractRepository(s, track=lambda _: None, store=None)
                    row = await repository.row(contract_id)
                    signatures = await repository.signature_rows(contract_id)
                    return [(row, signatures, await repository.refusal_rows(contract_id))]
                finally:
                    await s.rollback()

        async def one_statement() -> Any:
            async with read_connection(engine) as conn:
                return await contract_views(conn, contract_id=contract_id)

        ways: dict[str, Callable[[], Awaitable[Any]]] = {"session": session, "now": one_statement}
        first = await session()
        assert len(first[0][1]) == 2
        assert len(first[0][2]) == 1
        assert first == await one_statement()
        client: dict[str, list[float]] = {k: [] for k in ways}
        backend: dict[str, list[float]] = {k: [] for k in ways}
        for _ in range(args.rounds):
            for name, way in ways.items():
                c0, b0 = time.process_time(), backend_cpu(pid)
                for _ in range(args.n):
                    await way()
                client[name].append((time.process_time() - c0) / args.n * 1000)
                backend[name].append((backend_cpu(pid) - b0) / args.n * 1000)
        await engine.dispose()
    print(f"load average {os.getloadavg()[0]:.1f}; CPU per read, medians of {args.rounds} rounds of {args.n}")
    for name in ways:
        c, b = statistics.median(client[name]), statistics.median(backend[name])
        print(f"  {name:<8} client {c:.3f} ms  backend {b:.3f} ms")
    ratio = statistics.median(client["now"]) / statistics.median(client["session"])
    print(f"  now/session client {ratio:.2f}")


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
