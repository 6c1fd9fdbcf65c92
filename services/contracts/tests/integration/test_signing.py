"""Signatures of both parties, refusals, and the sealed executed PDF."""

from __future__ import annotations

import hashlib
import io

from contracts_testkit import generate_contract, vendor_signed
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from backoffice_common.testing import eventually

BUYER_UA = {"User-Agent": "procurement-portal/1.0"}


async def contract_state(env, contract_id: str) -> dict:
    r = await env.client.get(f"/contracts/{contract_id}", headers=env.token("paula", ["procurement"]))
    assert r.status_code == 200, r.text
    return r.json()


async def wait_for_refusal(env, contract_id: str, count: int = 1) -> list[dict]:
    async def refusals() -> list[dict] | None:
        found = (await contract_state(env, contract_id))["refusals"]
        return found if len(found) >= count else None

    result: list[dict] = await eventually(refusals)
    return result


def trust_roots(env):
    from pyhanko.keys import load_certs_from_pemder

    return list(load_certs_from_pemder([str(env.settings.pki_dir / "ca.pem")]))


async def validate(pdf: bytes, roots):
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    return await async_validate_pdf_signature(reader.embedded_signatures[0], context)


async def test_both_signatures_execute_the_contract_into_a_sealed_pdf_that_pyhanko_validates(contracts_env) -> None:
    env = contracts_env
    generated, request = await generate_contract(env, language="de")
    contract_id = generated.data["contract_id"]
    await env.publish("backoffice.notifications", vendor_signed(generated))
    vendor_sig = await env.reader.wait_for("contract.signed", subject=request["request_id"])
    assert vendor_sig[0].data["party"] == "vendor"
    assert vendor_sig[0].data["signer"]["name"] == "Vera Vendor"

    r = await env.client.post(
        f"/contracts/{contract_id}/signatures",
        json={"document_sha256": generated.data["document_sha256"]},
        headers={**env.token("paula", ["procurement"], name="Paula Procurement"), **BUYER_UA},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "executed"
    buyer = next(s for s in body["signatures"] if s["party"] == "buyer")
    assert buyer["signer_id"] == "paula"
    assert buyer["role"] == "procurement"
    assert buyer["user_agent"] == "procurement-portal/1.0"
    assert buyer["client_ip"]
    assert buyer["document_sha256"] == generated.data["document_sha256"]

    executed = await env.reader.wait_for("contract.executed", subject=request["request_id"])
    signed = env.reader.of_type("contract.signed", subject=request["request_id"])
    assert [e.data["party"] for e in signed] == ["vendor", "buyer"]
    assert signed[1].data["actor"] == {"id": "paula", "name": "Paula Procurement", "role": "procurement"}
    assert executed[0].data["document_sha256"] == generated.data["document_sha256"]

    download = await env.client.get(f"/contracts/{contract_id}/executed.pdf", headers=env.token("alice", ["requester"]))
    assert download.status_code == 200
    pdf = download.content
    assert hashlib.sha256(pdf).hexdigest() == executed[0].data["executed_sha256"]
    pages = PdfReader(io.BytesIO(pdf)).pages
    last_page = pages[-1].extract_text()
    assert "Unterschriftenseite" in last_page
    assert "Vera Vendor" in last_page
    assert "Paula Procurement" in last_page
    assert generated.data["document_sha256"] in last_page.replace("\n", "")

    roots = trust_roots(env)
    status = await validate(pdf, roots)
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.coverage.name == "ENTIRE_FILE"

    tampered = bytearray(pdf)
    tampered[len(pdf) // 3] ^= 0x01
    assert not (await validate(bytes(tampered), roots)).intact


async def test_signing_against_a_stale_hash_is_a_conflict_and_records_nothing(contracts_env) -> None:
    env = contracts_env
    generated, _ = await generate_contract(env)
    contract_id = generated.data["contract_id"]
    await env.publish("backoffice.notifications", vendor_signed(generated))
    await env.reader.wait_for("contract.signed", subject=generated.subject)
    r = await env.client.post(
        f"/contracts/{contract_id}/signatures",
        json={"document_sha256": "0" * 64},
        headers=env.token("paula", ["procurement"]),
    )
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["current_document_sha256"] == generated.data["document_sha256"]
    state = await contract_state(env, contract_id)
    assert [s["party"] for s in state["signatures"]] == ["vendor"]
    assert state["status"] == "partially_signed"


async def test_a_requester_cannot_sign_for_procurement(contracts_env) -> None:
    env = contracts_env
    generated, _ = await generate_contract(env)
    r = await env.client.post(
        f"/contracts/{generated.data['contract_id']}/signatures",
        json={"document_sha256": generated.data["document_sha256"]},
        headers=env.token("alice", ["requester"]),
    )
    assert r.status_code == 403
    assert "procurement" in r.json()["detail"]
    assert (await contract_state(env, generated.data["contract_id"]))["signatures"] == []


async def test_neither_the_requester_nor_an_approver_signs_for_the_buyer_even_with_the_procurement_role(
    contracts_env,
) -> None:
    env = contracts_env
    generated, _ = await generate_contract(env)
    await env.publish("backoffice.notifications", vendor_signed(generated))
    await env.reader.wait_for("contract.signed", subject=generated.subject)
    for who in ("alice", "bob"):  # the requester, the approver
        r = await env.client.post(
            f"/contracts/{generated.data['contract_id']}/signatures",
            json={"document_sha256": generated.data["document_sha256"]},
            headers=env.token(who, ["requester", "approver", "procurement"]),
        )
        assert r.status_code == 403, r.text
        assert r.json()["type"].endswith("segregation-of-duties")
    state = await contract_state(env, generated.data["contract_id"])
    assert [s["party"] for s in state["signatures"]] == ["vendor"]


async def test_the_buyer_cannot_sign_before_the_vendor_when_the_vendor_signs_first(contracts_env) -> None:
    env = contracts_env
    generated, _ = await generate_contract(env)
    r = await env.client.post(
        f"/contracts/{generated.data['contract_id']}/signatures",
        json={"document_sha256": generated.data["document_sha256"]},
        headers=env.token("paula", ["procurement"]),
    )
    assert r.status_code == 409
    assert r.json()["type"].endswith("signature-out-of-order")


async def test_a_vendor_signature_with_a_wrong_hash_is_recorded_as_refused_and_does_not_sign(contracts_env) -> None:
    env = contracts_env
    generated, _ = await generate_contract(env)
    await env.publish("backoffice.notifications", vendor_signed(generated, document_sha256="ab" * 32))
    refusals = await wait_for_refusal(env, generated.data["contract_id"])
    assert refusals[0]["reason"] == "document_hash_mismatch"
    assert refusals[0]["signer_email"] == "vera@vendor.example"
    state = await contract_state(env, generated.data["contract_id"])
    assert state["signatures"] == []
    assert state["status"] == "awaiting_signatures"
    assert env.reader.of_type("contract.signed", subject=generated.subject) == []


async def test_a_vendor_cannot_sign_another_vendors_contract(contracts_env) -> None:
    env = contracts_env
    generated, _ = await generate_contract(env)
    other_vendor = "00000000-0000-4000-8000-000000000001"
    await env.publish("backoffice.notifications", vendor_signed(generated, vendor_id=other_vendor))
    refusals = await wait_for_refusal(env, generated.data["contract_id"])
    assert refusals[0]["reason"] == "wrong_vendor"
    assert (await contract_state(env, generated.data["contract_id"]))["signatures"] == []


async def test_a_second_vendor_signature_from_a_reused_link_is_refused(contracts_env) -> None:
    env = contracts_env
    generated, _ = await generate_contract(env)
    await env.publish("backoffice.notifications", vendor_signed(generated), vendor_signed(generated))
    refusals = await wait_for_refusal(env, generated.data["contract_id"])
    assert refusals[0]["reason"] == "already_signed"
    state = await contract_state(env, generated.data["contract_id"])
    assert [s["party"] for s in state["signatures"]] == ["vendor"]
    assert len(env.reader.of_type("contract.signed", subject=generated.subject)) == 1
