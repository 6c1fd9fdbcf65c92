"""Cancellation voids a contract that is not executed; unsigned contracts expire on a database timer."""

from __future__ import annotations

import asyncpg
from contracts_testkit import cancelled, generate_contract, snapshot, vendor_accepted, vendor_record, vendor_signed

from backoffice_common.db import asyncpg_dsn
from backoffice_common.testing import eventually


async def test_cancelling_the_request_voids_the_unsigned_contract_and_later_signatures_are_refused(
    contracts_env,
) -> None:
    env = contracts_env
    generated, request = await generate_contract(env)
    await env.publish("backoffice.requests", cancelled(request, reason="budget frozen"))
    voided = await env.reader.wait_for("contract.voided", subject=request["request_id"])
    assert voided[0].data["contract_id"] == generated.data["contract_id"]
    assert "budget frozen" in voided[0].data["reason"]
    assert voided[0].data["actor"]["id"] == "alice"

    r = await env.client.post(
        f"/contracts/{generated.data['contract_id']}/signatures",
        json={"document_sha256": generated.data["document_sha256"]},
        headers=env.token("paula", ["procurement"]),
    )
    assert r.status_code == 409
    assert "voided" in r.json()["detail"]
    state = (
        await env.client.get(f"/contracts/{generated.data['contract_id']}", headers=env.token("paula", ["procurement"]))
    ).json()
    assert state["status"] == "voided"


async def test_an_acceptance_arriving_after_the_cancellation_generates_no_contract(contracts_env) -> None:
    env = contracts_env
    vendor = vendor_record()
    request = snapshot(vendor_id=vendor["vendor_id"])
    await env.publish("backoffice.requests", cancelled(request))

    async def cancellation_recorded() -> bool:
        conn = await asyncpg.connect(asyncpg_dsn(env.database_url))
        try:
            return bool(
                await conn.fetchval(
                    "SELECT count(*) FROM cancelled_request WHERE request_id = $1", request["request_id"]
                )
            )
        finally:
            await conn.close()

    await eventually(cancellation_recorded)
    await env.publish("backoffice.notifications", vendor_accepted(request, vendor))
    await generate_contract(env)  # same topic and partition: handled after the late acceptance
    assert env.reader.of_type("contract.generated", subject=request["request_id"]) == []


async def test_an_executed_contract_is_not_voided_by_a_late_cancellation(contracts_env) -> None:
    env = contracts_env
    generated, request = await generate_contract(env)
    await env.publish("backoffice.notifications", vendor_signed(generated))
    await env.reader.wait_for("contract.signed", subject=request["request_id"])
    r = await env.client.post(
        f"/contracts/{generated.data['contract_id']}/signatures",
        json={"document_sha256": generated.data["document_sha256"]},
        headers=env.token("paula", ["procurement"]),
    )
    assert r.status_code == 201
    await env.publish("backoffice.requests", cancelled(request))
    marker, _ = await generate_contract(env)
    await env.publish(
        "backoffice.requests", cancelled({**marker.data, "revision": 1, "vendor_id": marker.data["vendor_id"]})
    )
    await env.reader.wait_for("contract.voided", subject=marker.subject)
    assert env.reader.of_type("contract.voided", subject=request["request_id"]) == []


async def test_an_unsigned_contract_expires_when_its_signing_period_ends(contracts_env) -> None:
    env = contracts_env
    generated, request = await generate_contract(env)
    conn = await asyncpg.connect(asyncpg_dsn(env.database_url))
    try:
        await conn.execute(
            "UPDATE contract SET expires_at = now() - interval '1 second' WHERE id = $1", generated.data["contract_id"]
        )
    finally:
        await conn.close()
    expired = await env.reader.wait_for("contract.expired", subject=request["request_id"])
    assert expired[0].data["contract_id"] == generated.data["contract_id"]
    assert expired[0].data["actor"]["role"] == "system"
    await env.publish("backoffice.notifications", vendor_signed(generated))
    await generate_contract(env)  # same topic and partition: handled after the late signature
    state = (
        await env.client.get(f"/contracts/{generated.data['contract_id']}", headers=env.token("paula", ["procurement"]))
    ).json()
    assert state["status"] == "expired"
    assert state["signatures"] == []
    assert state["refusals"][0]["reason"] == "not_open"
    assert len(env.reader.of_type("contract.expired", subject=request["request_id"])) == 1
