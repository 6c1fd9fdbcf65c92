"""``GET /contracts/{id}`` and ``GET /contracts?request_id=`` read a contract, its signatures and its refusals
in ONE statement on a pooled connection without a unit of work (``contract_views``): the same rows as the
unit of work's three reads (``row`` / ``rows_of_request``, ``signature_rows``, ``refusal_rows``)."""

from __future__ import annotations

from contracts_testkit import generate_contract, vendor_signed
from sqlalchemy.ext.asyncio import create_async_engine

from backoffice_common.db import make_session_factory, read_connection
from backoffice_common.testing import eventually
from backoffice_contracts.repository.contracts import ContractRepository, contract_views


async def test_the_one_statement_read_gives_the_rows_of_the_three_reads(contracts_env) -> None:
    env = contracts_env
    generated, request = await generate_contract(env)
    contract_id, request_id = generated.data["contract_id"], request["request_id"]
    # a signature, then a refusal (the same link used again)
    await env.publish("backoffice.notifications", vendor_signed(generated), vendor_signed(generated))
    procurement = env.token("paula", ["procurement"])

    async def signed_and_refused() -> dict | None:
        r = await env.client.get(f"/contracts/{contract_id}", headers=procurement)
        assert r.status_code == 200, r.text
        body = r.json()
        return body if body["signatures"] and body["refusals"] else None

    one = await eventually(signed_and_refused)
    assert [s["party"] for s in one["signatures"]] == ["vendor"]
    assert [f["reason"] for f in one["refusals"]] == ["already_signed"]
    listed = await env.client.get("/contracts", params={"request_id": request_id}, headers=procurement)
    assert listed.status_code == 200, listed.text
    assert listed.json() == [one]
    # neither a party nor procurement: not found, and an empty list
    stranger = env.token("someone-else", ["requester"])
    assert (await env.client.get(f"/contracts/{contract_id}", headers=stranger)).status_code == 404
    assert (await env.client.get("/contracts", params={"request_id": request_id}, headers=stranger)).json() == []

    engine = create_async_engine(env.database_url)
    try:
        async with make_session_factory(engine)() as session, read_connection(engine) as conn:
            repository = ContractRepository(session, track=lambda _: None, store=None)
            row = await repository.row(contract_id)
            assert row is not None
            apart = (row, await repository.signature_rows(contract_id), await repository.refusal_rows(contract_id))
            assert await contract_views(conn, contract_id=contract_id) == [apart]
            assert await contract_views(conn, request_id=request_id) == [apart]
            assert await contract_views(conn, contract_id="00000000-0000-4000-8000-000000000000") == []
            await session.rollback()
    finally:
        await engine.dispose()
