"""CPU of the contract repository's flow paths, SQLAlchemy Core (old) against raw asyncpg (new) (not a test).

Two operations of every flow, each in its own unit of work on a private, migrated database of the current
profile's PostgreSQL (one contract with both signatures and a refusal):

- **view**: what ``GET /contracts?request_id=`` reads (``rows_of_request``, then each contract's
  ``signature_rows`` and ``refusal_rows``), rolled back;
- **sign**: what a signature writes (``get`` under the lock with its signatures, a signature added by
  ``save`` with the status), rolled back.

This checkout's ``ContractRepository`` and the Core version it replaced (copied below) are alternated round
by round in the same run; before timing, the bench asserts that both read the same rows and aggregates and
write the same rows. Reported: client CPU (this process) and backend CPU (``/proc`` of the connection's
PostgreSQL process) per operation, medians.

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/contracts/bench/repository_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

import backoffice_contracts
from backoffice_common.db import make_session_factory
from backoffice_common.testing import private_database
from backoffice_contracts.domain.contract import Contract, Status
from backoffice_contracts.domain.signature import Party, Signature
from backoffice_contracts.models import contract, contract_signature, signature_refusal
from backoffice_contracts.repository.contracts import ContractRepository, _signature_row, _to_domain

TICKS = os.sysconf("SC_CLK_TCK")
MIGRATIONS = Path(backoffice_contracts.__file__).parent / "migrations"
_AGGREGATE_COLUMNS = [c for c in contract.c if c.name not in ("document", "executed_document", "data")]


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class CoreContractRepository:
    """The Core statements of the repository before (as they were), for the paths measured."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, contract_id: str, *, for_update: bool = False) -> Contract | None:
        found = await self._load(select(*_AGGREGATE_COLUMNS).where(contract.c.id == contract_id), for_update)
        return found[0] if found else None

    async def save(self, aggregate: Contract) -> None:
        for signature in aggregate.new_signatures:
            await self._session.execute(contract_signature.insert().values(_signature_row(aggregate.id, signature)))
        aggregate.new_signatures = []
        values: dict[str, Any] = {
            "status": aggregate.status.value,
            "closed_at": aggregate.closed_at,
            "closed_reason": aggregate.closed_reason[:2000] if aggregate.closed_reason else None,
        }
        await self._session.execute(update(contract).where(contract.c.id == aggregate.id).values(**values))

    async def _load(self, stmt: Select[Any], for_update: bool) -> list[Contract]:
        if for_update:
            stmt = stmt.with_for_update()
        rows = [dict(r) for r in (await self._session.execute(stmt)).mappings()]
        signatures = await self._signatures_of([r["id"] for r in rows])
        return [_to_domain(row, signatures.get(row["id"], [])) for row in rows]

    async def _signatures_of(self, contract_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        if not contract_ids:
            return {}
        rows = await self._session.execute(
            select(contract_signature)
            .where(contract_signature.c.contract_id.in_(contract_ids))
            .order_by(contract_signature.c.signed_at)
        )
        found: dict[str, list[dict[str, Any]]] = {}
        for row in rows.mappings():
            found.setdefault(row["contract_id"], []).append(dict(row))
        return found

    async def rows_of_request(self, request_id: str) -> list[dict[str, Any]]:
        stmt = select(*_AGGREGATE_COLUMNS).where(contract.c.request_id == request_id).order_by(contract.c.revision)
        return [dict(r) for r in (await self._session.execute(stmt)).mappings()]

    async def signature_rows(self, contract_id: str) -> list[dict[str, Any]]:
        return (await self._signatures_of([contract_id])).get(contract_id, [])

    async def refusal_rows(self, contract_id: str) -> list[dict[str, Any]]:
        rows = await self._session.execute(
            select(signature_refusal)
            .where(signature_refusal.c.contract_id == contract_id)
            .order_by(signature_refusal.c.refused_at)
        )
        return [dict(r) for r in rows.mappings()]


Repo = ContractRepository | CoreContractRepository
REPOS: dict[str, Callable[[AsyncSession], Repo]] = {
    "core": CoreContractRepository,
    "raw": lambda session: ContractRepository(session, track=lambda _: None, store=None),
}


def a_signature(party: Party, at: datetime) -> Signature:
    return Signature(
        party=party, signer_id=f"{party.value}-1", signer_name=f"{party.value} signer", signer_email="s@example.com",
        role="procurement", document_sha256="ab" * 32, signed_at=at, client_ip="127.0.0.1", user_agent="bench/1",
        channel="api", event_id=None,
    )  # fmt: skip


async def seed(session: AsyncSession, now: datetime) -> tuple[str, str, str]:
    """A contract with the vendor's and the buyer's signatures and one refusal; another awaiting signatures."""
    request_id, signed_id, open_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    for revision, contract_id in ((1, signed_id), (2, open_id)):
        await session.execute(
            insert(contract).values(
                id=contract_id, request_id=request_id, revision=revision, request_number="PR-000001",
                vendor_id=str(uuid.uuid4()), requester_id="requester-1", language="en", template_version=1,
                status="executed" if revision == 1 else "awaiting_signatures", signing_order="any",
                document_key=f"contracts/{contract_id}/draft.pdf", document_sha256="ab" * 32, data={"n": 1},
                generated_at=now, expires_at=now + timedelta(days=7),
            )
        )  # fmt: skip
    for k, party in enumerate((Party.VENDOR, Party.BUYER)):
        signature = a_signature(party, now + timedelta(seconds=k))
        await session.execute(insert(contract_signature).values(_signature_row(signed_id, signature)))
    await session.execute(
        insert(signature_refusal).values(
            id=str(uuid.uuid4()), contract_id=signed_id, party="vendor", signer_name="v", signer_email="v@example.com",
            document_sha256="cd" * 32, reason="wrong_document", detail="the hash differs", channel="email",
            refused_at=now,
        )
    )  # fmt: skip
    return request_id, signed_id, open_id


async def view(repo: Repo, request_id: str) -> list[tuple[Any, ...]]:
    rows = await repo.rows_of_request(request_id)
    return [(row, await repo.signature_rows(row["id"]), await repo.refusal_rows(row["id"])) for row in rows]


async def sign(repo: Repo, contract_id: str, now: datetime) -> Contract:
    found = await repo.get(contract_id, for_update=True)
    assert found is not None
    loaded = dataclasses.replace(found)
    found.new_signatures = [a_signature(Party.BUYER, now)]
    found.status = Status.PARTIALLY_SIGNED
    await repo.save(found)
    return loaded


async def run(n: int, rounds: int) -> None:
    async with private_database(MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        now = datetime.now(UTC)
        async with factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            request_id, _, open_id = await seed(session, now)
            await session.commit()

        written: dict[str, Any] = {}
        for how, make in REPOS.items():  # both read the same, and write the same
            async with factory() as session:
                written[how] = (await view(make(session), request_id), await sign(make(session), open_id, now))
                rows = await session.execute(
                    text(
                        "SELECT c.status, s.party, s.signer_id, s.signed_at, s.client_ip FROM contract c"
                        " JOIN contract_signature s ON s.contract_id = c.id WHERE c.id = :id"
                    ),
                    {"id": open_id},
                )
                written[how] += ([tuple(r) for r in rows],)
                await session.rollback()
        assert written["core"] == written["raw"], (written["core"], written["raw"])
        views, aggregate, stored = written["raw"]
        assert len(views) == 2
        assert len(views[0][1]) == 2
        assert len(views[0][2]) == 1
        assert aggregate.signatures == []
        assert stored == [("partially_signed", "buyer", "buyer-1", now, "127.0.0.1")]

        def op(what: str, how: str) -> Callable[[], Awaitable[None]]:
            async def one() -> None:
                async with factory() as session:
                    repo = REPOS[how](session)
                    if what == "view":
                        await view(repo, request_id)
                    else:
                        await sign(repo, open_id, now)
                    await session.rollback()

            return one

        ops = {(what, how): op(what, how) for what in ("view", "sign") for how in REPOS}
        results: dict[tuple[str, str], tuple[list[float], list[float]]] = {k: ([], []) for k in ops}
        for fn in ops.values():  # warm-up
            for _ in range(30):
                await fn()
        for _ in range(rounds):
            for k, fn in ops.items():
                c0, s0 = time.process_time(), backend_cpu(pid)
                for _ in range(n):
                    await fn()
                results[k][0].append((time.process_time() - c0) / n * 1000)
                results[k][1].append((backend_cpu(pid) - s0) / n * 1000)
        await engine.dispose()
    load = os.getloadavg()
    print(
        f"contract repository paths (a rolled-back unit of work each), {rounds} x {n}, alternated; load {load[0]:.2f}"
    )
    print(f"{'':18}{'client ms':>10}{'backend ms':>11}")
    for (what, how), (client, server) in results.items():
        print(f"  {what:6} {how:9}{statistics.median(client):10.3f}{statistics.median(server):11.3f}")
    for what in ("view", "sign"):
        core, raw = results[(what, "core")], results[(what, "raw")]
        c = statistics.median(raw[0]) / statistics.median(core[0])
        s = statistics.median(raw[1]) / statistics.median(core[1]) if statistics.median(core[1]) else float("nan")
        print(f"  {what}: raw/core client {c:.2f}, backend {s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
