"""Verifying uploaded PDFs, and who may download which document."""

from __future__ import annotations

from contracts_testkit import execute, generate_contract, local_path


async def test_verify_recognises_an_unmodified_executed_contract_and_names_its_signers(contracts_env) -> None:
    generated, pdf = await execute(contracts_env)
    r = await contracts_env.client.post("/contracts/verify", files={"file": ("contract.pdf", pdf, "application/pdf")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["issued_here"]
    assert body["signature_valid"]
    assert body["unmodified"]
    assert body["contract_id"] == generated.data["contract_id"]
    assert {s["party"]: s["name"] for s in body["signers"]} == {"vendor": "Vera Vendor", "buyer": "Paula Procurement"}
    assert "Back-office contract seal" in body["signer_certificate"]

    raw = await contracts_env.client.post("/contracts/verify", content=pdf, headers={"Content-Type": "application/pdf"})
    assert raw.json()["unmodified"] is True


async def test_verify_reports_a_one_byte_change_as_modified(contracts_env) -> None:
    _, pdf = await execute(contracts_env)
    tampered = bytearray(pdf)
    tampered[len(pdf) // 3] ^= 0x01
    r = await contracts_env.client.post(
        "/contracts/verify", content=bytes(tampered), headers={"Content-Type": "application/pdf"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["issued_here"] is False
    assert body["signature_valid"] is False
    assert body["unmodified"] is False


async def test_verify_says_a_draft_is_not_an_executed_contract(contracts_env) -> None:
    generated, _ = await generate_contract(contracts_env)
    draft = await contracts_env.client.get(local_path(generated.data["document_url"]))
    r = await contracts_env.client.post(
        "/contracts/verify", content=draft.content, headers={"Content-Type": "application/pdf"}
    )
    assert r.json() | {"sha256": None} == r.json() | {
        "sha256": None,
        "issued_here": False,
        "signature_valid": False,
        "unmodified": False,
    }


async def test_verify_answers_bad_uploads_with_problems(contracts_env) -> None:
    client = contracts_env.client
    not_pdf = await client.post("/contracts/verify", files={"file": ("x.txt", b"hello world", "text/plain")})
    assert not_pdf.status_code == 415
    assert not_pdf.headers["content-type"].startswith("application/problem+json")
    assert "not a PDF" in not_pdf.json()["detail"]
    empty = await client.post("/contracts/verify", files={"file": ("x.pdf", b"", "application/pdf")})
    assert empty.status_code == 422
    assert "empty" in empty.json()["detail"]
    no_field = await client.post("/contracts/verify", files={"other": ("x.pdf", b"%PDF-1.7", "application/pdf")})
    assert no_field.status_code == 422
    huge = await client.post(
        "/contracts/verify",
        content=b"%PDF-1.7\n" + b"0" * (contracts_env.settings.max_upload_bytes + 1),
        headers={"Content-Type": "application/pdf"},
    )
    assert huge.status_code == 413
    garbage_pdf = await client.post(
        "/contracts/verify", content=b"%PDF-1.7\n\x00\xff garbage", headers={"Content-Type": "application/pdf"}
    )
    assert garbage_pdf.status_code == 415
    wrong_type = await client.post("/contracts/verify", content=b"{}", headers={"Content-Type": "application/json"})
    assert wrong_type.status_code == 415


async def test_draft_links_are_read_only_per_contract_and_forged_or_foreign_tokens_are_refused(contracts_env) -> None:
    env = contracts_env
    first, _ = await generate_contract(env)
    second, _ = await generate_contract(env)
    token = first.data["document_url"].split("token=")[1]
    foreign = await env.client.get(f"/contracts/{second.data['contract_id']}/draft.pdf?token={token}")
    assert foreign.status_code == 403
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (await env.client.get(f"/contracts/{first.data['contract_id']}/draft.pdf?token={forged}")).status_code == 403
    from datetime import UTC, datetime, timedelta

    from backoffice_contracts.domain import links

    stale = links.issue(
        secret=env.settings.link_secret,
        contract_id=first.data["contract_id"],
        scope="draft",
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    expired = await env.client.get(f"/contracts/{first.data['contract_id']}/draft.pdf?token={stale}")
    assert expired.status_code == 403
    assert "expired" in expired.json()["detail"]
    # a rotation: a link signed with the previous secret opens while that secret is still listed
    earlier = "an-earlier-link-secret-of-more-than-32-chars"
    rotated = links.issue(
        secret=earlier,
        contract_id=first.data["contract_id"],
        scope="draft",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    rotated_url = f"/contracts/{first.data['contract_id']}/draft.pdf?token={rotated}"
    assert (await env.client.get(rotated_url)).status_code == 403
    env.settings.link_previous_secrets = [earlier]
    try:
        assert (await env.client.get(rotated_url)).status_code == 200
    finally:
        env.settings.link_previous_secrets = []
    anonymous = await env.client.get(f"/contracts/{first.data['contract_id']}/draft.pdf")
    assert anonymous.status_code == 401
    draft_token_for_executed = await env.client.get(
        f"/contracts/{first.data['contract_id']}/executed.pdf?token={token}"
    )
    assert draft_token_for_executed.status_code == 403
    assert "grants 'draft'" in draft_token_for_executed.json()["detail"]


async def test_the_executed_event_links_the_sealed_pdf_for_the_vendor(contracts_env) -> None:
    generated, pdf = await execute(contracts_env)
    executed = await contracts_env.reader.wait_for("contract.executed", subject=generated.subject)
    url = executed[0].data["document_url"]
    assert url.startswith(f"http://contracts.test/contracts/{generated.data['contract_id']}/executed.pdf?token=")
    r = await contracts_env.client.get(local_path(url))
    assert r.status_code == 200
    assert r.content == pdf
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in r.headers["cache-control"]


async def test_only_the_parties_procurement_and_admin_see_a_contract(contracts_env) -> None:
    env = contracts_env
    generated, _ = await generate_contract(env)
    path = f"/contracts/{generated.data['contract_id']}"
    assert (await env.client.get(path, headers=env.token("alice", ["requester"]))).status_code == 200
    assert (await env.client.get(path, headers=env.token("root", ["admin"]))).status_code == 200
    assert (await env.client.get(path, headers=env.token("mallory", ["requester", "approver"]))).status_code == 404
    assert (await env.client.get(f"{path}/draft.pdf", headers=env.token("mallory", ["requester"]))).status_code == 404
    executed = await env.client.get(f"{path}/executed.pdf", headers=env.token("alice", ["requester"]))
    assert executed.status_code == 409
    malformed = await env.client.get("/contracts/not-a-uuid", headers=env.token("alice", ["requester"]))
    assert malformed.status_code == 422
