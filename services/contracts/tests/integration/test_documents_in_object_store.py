"""The contract PDFs live in the object store (the real S3Proxy), named and hashed by the database row."""

from __future__ import annotations

import asyncpg
from aiobotocore.session import get_session
from contracts_testkit import execute, generate_contract, local_path

from backoffice_common.objectstore import ObjectStore, sha256_hex


async def _row(env, contract_id: str) -> asyncpg.Record:
    conn = await asyncpg.connect(env.database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return await conn.fetchrow(
            "SELECT document IS NULL AS no_draft_bytes, executed_document IS NULL AS no_executed_bytes,"
            " document_key, executed_key, document_sha256, executed_sha256 FROM contract WHERE id = $1",
            contract_id,
        )
    finally:
        await conn.close()


async def _sql(env, statement: str, *args: object) -> None:
    conn = await asyncpg.connect(env.database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


def _store(env) -> ObjectStore:
    return ObjectStore.from_settings(env.settings)


async def _raw_put(env, key: str, content: bytes) -> None:
    store = _store(env)
    async with get_session().create_client("s3", **store._options) as client:
        await client.put_object(Bucket=store.bucket, Key=store.prefix + key, Body=content)


async def test_the_draft_and_the_executed_pdf_are_in_the_object_store_not_in_the_database(contracts_env) -> None:
    generated, executed_pdf = await execute(contracts_env)
    contract_id = generated.data["contract_id"]

    row = await _row(contracts_env, contract_id)

    assert row["no_draft_bytes"]
    assert row["no_executed_bytes"]
    assert row["document_key"] == f"contracts/{contract_id}/draft-{row['document_sha256']}.pdf"
    assert row["executed_key"] == f"contracts/{contract_id}/executed-{row['executed_sha256']}.pdf"
    store = _store(contracts_env)
    try:
        assert await store.get(row["executed_key"], sha256=row["executed_sha256"]) == executed_pdf
        draft = await store.get(row["document_key"], sha256=row["document_sha256"])
    finally:
        await store.close()
    assert sha256_hex(draft) == generated.data["document_sha256"]


async def test_a_tampered_draft_is_refused_with_a_problem_not_served(contracts_env) -> None:
    generated, _ = await generate_contract(contracts_env)
    row = await _row(contracts_env, generated.data["contract_id"])
    await _raw_put(contracts_env, row["document_key"], b"%PDF-1.7 pay the money to another account")

    r = await contracts_env.client.get(local_path(generated.data["document_url"]))

    assert r.status_code == 502
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "failed its integrity check" in r.json()["detail"]
    assert b"another account" not in r.content


async def test_a_tampered_executed_pdf_is_refused_too(contracts_env) -> None:
    generated, _ = await execute(contracts_env)
    contract_id = generated.data["contract_id"]
    row = await _row(contracts_env, contract_id)
    await _raw_put(contracts_env, row["executed_key"], b"%PDF-1.7 not what was sealed")

    r = await contracts_env.client.get(
        f"/contracts/{contract_id}/executed.pdf", headers=contracts_env.token("paula", ["procurement"])
    )

    assert r.status_code == 502
    assert r.json()["type"].endswith("document-integrity")


async def test_a_deleted_object_answers_503_not_500(contracts_env) -> None:
    generated, _ = await generate_contract(contracts_env)
    row = await _row(contracts_env, generated.data["contract_id"])
    store = _store(contracts_env)
    await store.delete(row["document_key"])
    await store.close()

    r = await contracts_env.client.get(local_path(generated.data["document_url"]))

    assert r.status_code == 503
    assert "has no object" in r.json()["detail"]


async def test_a_contract_stored_before_object_storage_stays_readable_and_hash_checked(contracts_env) -> None:
    generated, _ = await generate_contract(contracts_env)
    contract_id = generated.data["contract_id"]
    url = local_path(generated.data["document_url"])
    from_store = (await contracts_env.client.get(url)).content
    await _sql(
        contracts_env, "UPDATE contract SET document = $2, document_key = NULL WHERE id = $1", contract_id, from_store
    )

    legacy = await contracts_env.client.get(url)
    assert legacy.status_code == 200
    assert legacy.content == from_store

    await _sql(contracts_env, "UPDATE contract SET document = $2 WHERE id = $1", contract_id, from_store + b" ")
    assert (await contracts_env.client.get(url)).status_code == 502
