"""A signature is saved with its contract's update in ONE statement (a data-modifying ``WITH``): the vendor's
signature (status, closing) and the last signature that executes the contract (the executed PDF's key and hash
too). The rows are those the two statements wrote: the signature with its evidence, the contract's status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts_testkit import generate_contract
from sqlalchemy.ext.asyncio import create_async_engine

from backoffice_common.db import driver_connection, make_session_factory, read_connection
from backoffice_common.objectstore import ObjectStore, sha256_hex
from backoffice_contracts.domain.contract import SealedDocument, Status
from backoffice_contracts.domain.signature import Party, Signature
from backoffice_contracts.repository.contracts import ContractRepository, contract_views


def _signature(party: Party, document_sha256: str, signer: str) -> Signature:
    return Signature(
        party=party,
        signer_id=signer,
        signer_name=signer.title(),
        signer_email=f"{signer}@example.com",
        role=party.value,
        document_sha256=document_sha256,
        signed_at=datetime.now(UTC),
        client_ip="203.0.113.9",
        user_agent="portal/(12 0 R)",
        channel="link" if party == Party.VENDOR else "api",
        event_id="e-1" if party == Party.VENDOR else None,
    )


async def test_a_signature_and_its_contracts_update_are_one_statement(contracts_env) -> None:
    env = contracts_env
    generated, _request = await generate_contract(env)
    contract_id, digest = generated.data["contract_id"], generated.data["document_sha256"]
    engine = create_async_engine(env.database_url)
    store = ObjectStore.from_settings(env.settings)
    statements: list[str] = []

    def logged(record: Any) -> None:
        statements.append(record.query)

    try:
        for party, signer in ((Party.VENDOR, "vera"), (Party.BUYER, "paula")):
            async with make_session_factory(engine)() as session:
                repository = ContractRepository(session, track=lambda _: None, store=store)
                contract = await repository.get(contract_id, for_update=True)
                assert contract is not None
                contract.sign(_signature(party, digest, signer), now=datetime.now(UTC))
                if contract.fully_signed:
                    executed = b"%PDF-1.7 sealed " + contract_id.encode()
                    sealed = SealedDocument(content=executed, sha256=sha256_hex(executed))
                    contract.execute(sealed, at=datetime.now(UTC), document_url="https://example.com/executed")
                conn = await driver_connection(session)
                conn.add_query_logger(logged)
                await repository.save(contract)
                conn.remove_query_logger(logged)
                await session.commit()
            assert len(statements) == 1, statements
            assert statements.pop().startswith("WITH signed AS (INSERT INTO contract_signature")
        async with read_connection(engine) as conn:
            [(row, signatures, _refusals)] = await contract_views(conn, contract_id=contract_id)
    finally:
        await engine.dispose()
        await store.close()
    assert row["status"] == Status.EXECUTED.value
    assert row["executed_sha256"] == sha256_hex(b"%PDF-1.7 sealed " + contract_id.encode())
    assert row["executed_key"] == f"contracts/{contract_id}/executed-{row['executed_sha256']}.pdf"
    assert [(s["party"], s["signer_name"], s["channel"], s["event_id"]) for s in signatures] == [
        ("vendor", "Vera", "link", "e-1"),
        ("buyer", "Paula", "api", None),
    ]
    assert {s["document_sha256"] for s in signatures} == {digest}
    assert {s["user_agent"] for s in signatures} == {"portal/(12 0 R)"}
