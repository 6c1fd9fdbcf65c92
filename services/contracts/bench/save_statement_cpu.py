"""CPU of two writes of a signature's unit of work, old against new in one run (not a test).

- **save**: what a vendor signature writes: ``get`` under the lock with its signatures, a signature added,
  ``save``. Today's ``ContractRepository.save`` (the signature's insert, then the contract's update: two
  statements) against the same in ONE statement (a data-modifying ``WITH``, the subclass below). Tried in the
  eighth round of #15 and dropped: it did not pay (docs/performance.md, "Eighth round: contracts").
- **refusal**: ``add_refusal`` on SQLAlchemy Core (before, the subclass below) against raw asyncpg (now).
- **vendor**: a vendor signature's reads of the vendor and the contract: the vendor read twice (before: for the
  signer's actor, then again for the blocked check) against once (now), with the contract's ``get`` under the
  lock between them.

Each operation in its own unit of work on a private, migrated database of the current profile's PostgreSQL,
rolled back. Before timing, the bench asserts that both variants write the same rows; then they alternate
round by round. Reported: client CPU (this process), backend CPU (``/proc`` of the connection's PostgreSQL
process) and wall time per operation, medians, and the load average.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/contracts/bench/save_statement_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from backoffice_common.db import make_session_factory
from backoffice_common.testing import private_database
from backoffice_contracts.domain.contract import Contract
from backoffice_contracts.domain.signature import Party, Refusal
from backoffice_contracts.models import signature_refusal
from backoffice_contracts.repository import contracts as repository
from backoffice_contracts.repository.contracts import ContractRepository
from backoffice_contracts.repository.reference import VendorRepository

sys.path.insert(0, str(Path(__file__).resolve().parent))
from repository_cpu import MIGRATIONS, backend_cpu, seed, sign

_VALUES = ", ".join(f"${i}" for i in range(5, 5 + len(repository._SIGNATURE_COLUMNS)))
_SIGN_AND_UPDATE = (
    f"WITH signed AS (INSERT INTO contract_signature ({', '.join(repository._SIGNATURE_COLUMNS)})"  # noqa: S608
    f" VALUES ({_VALUES})) {repository._UPDATE_CONTRACT}"
)


class OneStatement(ContractRepository):
    """``save`` with the signature's insert in front of the contract's update (the executed branch left out)."""

    async def save(self, aggregate: Contract) -> None:
        [signature] = aggregate.new_signatures
        row = repository._signature_row(aggregate.id, signature)
        aggregate.new_signatures = []
        closed_reason = aggregate.closed_reason[:2000] if aggregate.closed_reason else None
        head = (aggregate.id, aggregate.status.value, aggregate.closed_at, closed_reason)
        signed = (row[name] for name in repository._SIGNATURE_COLUMNS)
        await (await self._conn()).execute(_SIGN_AND_UPDATE, *head, *signed)


class CoreRefusal(ContractRepository):
    """``add_refusal`` before: a SQLAlchemy Core insert through the session."""

    async def add_refusal(self, refusal: Refusal) -> None:
        await self._session.execute(
            signature_refusal.insert().values(
                id=str(uuid.uuid4()), contract_id=refusal.contract_id, party=refusal.party.value,
                signer_name=refusal.signer_name, signer_email=refusal.signer_email,
                document_sha256=refusal.document_sha256, reason=refusal.reason, detail=refusal.detail,
                client_ip=refusal.client_ip, user_agent=refusal.user_agent, channel=refusal.channel,
                event_id=refusal.event_id, refused_at=refusal.refused_at,
            )
        )  # fmt: skip


def repo(cls: type[ContractRepository]) -> Callable[[AsyncSession], ContractRepository]:
    return lambda session: cls(session, track=lambda _: None, store=None)


def a_refusal(contract_id: str, now: datetime) -> Refusal:
    return Refusal(
        contract_id=contract_id, party=Party.VENDOR, signer_name="Vera", signer_email="v@example.com",
        document_sha256="cd" * 32, reason="already_signed", detail="the link was used before", client_ip="203.0.113.7",
        user_agent="mail/1", channel="link", event_id=str(uuid.uuid4()), refused_at=now,
    )  # fmt: skip


async def refuse(repository: ContractRepository, contract_id: str, now: datetime) -> None:
    await repository.add_refusal(a_refusal(contract_id, now))


async def vendor_reads(session: AsyncSession, contract_id: str, vendor_id: str, times: int) -> list[tuple[Any, ...]]:
    vendors = VendorRepository(session)
    first = await vendors.get(vendor_id)
    contract = await ContractRepository(session, track=lambda _: None, store=None).get(contract_id, for_update=True)
    assert contract is not None
    again = await vendors.get(vendor_id) if times == 2 else first
    return [(first, again, contract.id)]


VARIANTS: dict[tuple[str, str], tuple[Callable[[AsyncSession], ContractRepository], str]] = {
    ("save", "two statements (kept)"): (repo(ContractRepository), "sign"),
    ("save", "one statement (tried)"): (repo(OneStatement), "sign"),
    ("refusal", "Core (before)"): (repo(CoreRefusal), "refuse"),
    ("refusal", "raw asyncpg (now)"): (repo(ContractRepository), "refuse"),
    ("vendor", "read twice (before)"): (repo(ContractRepository), "vendor2"),
    ("vendor", "read once (now)"): (repo(ContractRepository), "vendor1"),
}
_WRITTEN = {
    "sign": "SELECT c.status, c.closed_at, s.party, s.signer_id, s.signer_name, s.signer_email, s.role,"
    " s.document_sha256, s.signed_at, s.client_ip, s.user_agent, s.channel, s.event_id"
    " FROM contract c JOIN contract_signature s ON s.contract_id = c.id WHERE c.id = :id",
    "refuse": "SELECT contract_id, party, signer_name, signer_email, document_sha256, reason, detail, client_ip,"
    " user_agent, channel, refused_at FROM signature_refusal WHERE contract_id = :id ORDER BY refused_at",
}


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        now = datetime.now(UTC)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            _request_id, _, open_id = await seed(session, now)
            vendor_id = str(uuid.uuid4())
            await VendorRepository(session).upsert(
                {
                    "vendor_id": vendor_id,
                    "legal_name": "Acme Supplies Ltd",
                    "address": "1 Road",
                    "contact_emails": ["a@example.com"],
                    "language": "en",
                    "status": "active",
                    "updated_at": now,
                }
            )
            await session.commit()

        def op(key: tuple[str, str]) -> Callable[[], Awaitable[list[tuple[Any, ...]]]]:
            make, what = VARIANTS[key]

            async def one() -> list[tuple[Any, ...]]:
                async with factory() as session:
                    if what.startswith("vendor"):
                        rows = await vendor_reads(session, open_id, vendor_id, int(what[-1]))
                    else:
                        await (sign if what == "sign" else refuse)(make(session), open_id, now)
                        rows = [tuple(r) for r in await session.execute(text(_WRITTEN[what]), {"id": open_id})]
                    await session.rollback()
                return rows

            return one

        async def timed(key: tuple[str, str]) -> None:
            make, what = VARIANTS[key]
            async with factory() as session:
                if what.startswith("vendor"):
                    await vendor_reads(session, open_id, vendor_id, int(what[-1]))
                else:
                    await (sign if what == "sign" else refuse)(make(session), open_id, now)
                await session.rollback()

        written = {key: await op(key)() for key in VARIANTS}
        for what in ("save", "refusal", "vendor"):
            old, new = (rows for key, rows in written.items() if key[0] == what)
            assert old == new, (what, old, new)
            assert len(new) == 1, (what, new)
        results: dict[tuple[str, str], tuple[list[float], list[float], list[float]]] = {
            k: ([], [], []) for k in VARIANTS
        }
        for key in VARIANTS:  # warm-up
            for _ in range(30):
                await timed(key)
        load_before = os.getloadavg()[0]
        for r in range(rounds):
            for key in VARIANTS if r % 2 == 0 else reversed(VARIANTS):
                c0, s0, w0 = time.process_time(), backend_cpu(pid), time.perf_counter()
                for _ in range(n):
                    await timed(key)
                results[key][0].append((time.process_time() - c0) / n * 1000)
                results[key][1].append((backend_cpu(pid) - s0) / n * 1000)
                results[key][2].append((time.perf_counter() - w0) / n * 1000)
        await engine.dispose()
    load = f"load {load_before:.2f} -> {os.getloadavg()[0]:.2f}"
    print(f"a unit of work each, rolled back; {rounds} x {n}, alternated; {load}")
    print(f"{'':32}{'client ms':>10}{'backend ms':>11}{'wall ms':>9}")
    for (what, how), (client, server, wall) in results.items():
        c, s, w = statistics.median(client), statistics.median(server), statistics.median(wall)
        print(f"  {what:8}{how:22}{c:10.3f}{s:11.3f}{w:9.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
