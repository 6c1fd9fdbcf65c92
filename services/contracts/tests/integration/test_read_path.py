"""``GET /contracts/{id}`` and ``GET /contracts?request_id=`` read a contract, its signatures and its refusals
in ONE statement on a pooled connection without a unit of work (``contract_views``): the same rows as the
unit of work's three reads (``row`` / ``rows_of_request``, ``signature_rows``, ``refusal_rows``). So does the
answer of ``POST /contracts/{id}/signatures``, once the signature is committed."""

from __future__ import annotations

from contracts_testkit import generate_contract, vendor_signed
from sqlalchemy.ext.asyncio import create_async_engine

from backoffice_common.auth import User
from backoffice_common.db import make_session_factory, read_connection
from backoffice_common.testing import eventually
from backoffice_contracts.api.contracts import _read
from backoffice_contracts.repository.contracts import ContractRepository, contract_views
from backoffice_contracts.service import queries


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


async def test_a_buyer_signatures_answer_is_read_in_one_statement_as_the_unit_of_works_three_reads_gave_it(
    contracts_env,
) -> None:
    env = contracts_env
    generated, _request = await generate_contract(env)
    contract_id = generated.data["contract_id"]
    await env.publish("backoffice.notifications", vendor_signed(generated), vendor_signed(generated))
    procurement = env.token("paula", ["procurement"], name="Paula Procurement")

    async def vendor_signed_and_refused() -> bool:
        body = (await env.client.get(f"/contracts/{contract_id}", headers=procurement)).json()
        return bool(body["signatures"] and body["refusals"])

    await eventually(vendor_signed_and_refused)
    signed = await env.client.post(
        f"/contracts/{contract_id}/signatures",
        json={"document_sha256": generated.data["document_sha256"]},
        headers={**procurement, "User-Agent": "portal/2.0"},
    )
    assert signed.status_code == 201, signed.text
    assert signed.json()["status"] == "executed"
    assert [s["party"] for s in signed.json()["signatures"]] == ["vendor", "buyer"]
    # the answer (read on a read connection after the commit) is GET's, byte for byte
    assert signed.content == (await env.client.get(f"/contracts/{contract_id}", headers=procurement)).content

    # and what the unit of work's three reads (row, signatures, refusals) gave before, byte for byte
    engine = create_async_engine(env.database_url)
    try:
        async with make_session_factory(engine)() as session, read_connection(engine) as conn:
            repository = ContractRepository(session, track=lambda _: None, store=None)
            row = await repository.row(contract_id)
            assert row is not None
            three_reads = queries.ContractView(
                row, await repository.signature_rows(contract_id), await repository.refusal_rows(contract_id)
            )
            one_statement = await queries.contract_view_now(
                conn=conn,
                settings=env.settings,
                user=User(sub="paula", roles=frozenset({"procurement"})),
                contract_id=contract_id,
            )
            assert one_statement == three_reads
            assert _read(one_statement).model_dump_json() == _read(three_reads).model_dump_json()
            assert _read(three_reads).model_dump(mode="json") == signed.json()
            await session.rollback()
    finally:
        await engine.dispose()
