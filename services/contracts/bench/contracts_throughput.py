"""Contracts generated per second and executed-PDF sealing time (p50/p99).

Not a test. Run from the repository root after ``source deploy/env.sh``:

    .venv/bin/python services/contracts/bench/contracts_throughput.py --contracts 40 --seals 40

Generation goes through the real use case (template from the database, typst render, SHA-256, contract row and
outbox row in one transaction) against a private PostgreSQL database; sealing is signature page + merge + PAdES
signature with pyHanko, the same adapter call the service makes when the second party signs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from contracts_testkit import snapshot, vendor_record

from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.testing import private_database
from backoffice_contracts import service
from backoffice_contracts.documents import Documents
from backoffice_contracts.domain.document import signature_page_data
from backoffice_contracts.domain.signature import Party, Signature
from backoffice_contracts.models import messaging
from backoffice_contracts.schemas.events import VendorAccepted
from backoffice_contracts.service.uow import ContractsUnitOfWork
from backoffice_contracts.settings import Settings

MIGRATIONS = Path(__file__).parents[1] / "src" / "backoffice_contracts" / "migrations"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(contracts: int, seals: int) -> None:
    async with private_database(MIGRATIONS) as url:
        settings = Settings(
            environment="test",
            database_url=url,
            pki_dir=Path(tempfile.mkdtemp()),
            jwt_secret="bench-jwt-secret-" + "x" * 30,
            link_secret="bench-link-secret-" + "x" * 30,
        )
        documents = Documents(settings)
        documents.identity()
        engine = make_engine(url, pool_size=2)
        factory = make_session_factory(engine)
        ids: list[str] = []
        started = time.perf_counter()
        for i in range(contracts):
            vendor = vendor_record(language="de" if i % 2 else "en")
            accepted = VendorAccepted.model_validate(
                {"request": snapshot(vendor_id=vendor["vendor_id"]), "vendor": vendor}
            )
            async with ContractsUnitOfWork(factory, tables=messaging, service="contracts") as uow:
                outcome = await service.generate_contract(
                    uow=uow,
                    settings=settings,
                    documents=documents,
                    accepted=accepted,
                    cause=None,
                    now=datetime.now(UTC),
                )
                await uow.commit()
            ids.append(outcome.removeprefix("generated "))
        elapsed = time.perf_counter() - started
        print(f"generation: {contracts} contracts in {elapsed:.2f}s = {contracts / elapsed:.1f} contracts/s")

        durations: list[float] = []
        async with ContractsUnitOfWork(factory, tables=messaging, service="contracts") as uow:
            for i in range(seals):
                contract = await uow.contracts.get(ids[i % len(ids)])
                assert contract is not None
                draft = await uow.contracts.draft_document(contract.id)
                now = datetime.now(UTC)
                for party in (Party.VENDOR, Party.BUYER):
                    contract.signatures.append(
                        Signature(
                            party,
                            str(uuid.uuid4()),
                            "Bench Signer",
                            "b@x",
                            "r",
                            contract.document_sha256,
                            now,
                            "127.0.0.1",
                            "bench",
                            "api",
                        )
                    )
                data = signature_page_data(contract)
                t0 = time.perf_counter()
                await asyncio.to_thread(documents.seal_executed, draft, data)
                durations.append((time.perf_counter() - t0) * 1000)
        print(
            f"sealing: n={seals} p50={statistics.median(durations):.1f}ms "
            f"p99={percentile(durations, 0.99):.1f}ms max={max(durations):.1f}ms"
        )
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=40)
    parser.add_argument("--seals", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.contracts, args.seals))
