"""The template admin API: versioned templates per language, rendered in the sandbox before they are accepted,
previewed, and used only once a second admin has activated them."""

from __future__ import annotations

import asyncio
import io
import json

import asyncpg
from contracts_testkit import generate_contract, local_path
from pypdf import PdfReader

from backoffice_contracts.documents.pdf import default_template

# About 100 million loop steps: far beyond the render limits, without memory (typst stops a single loop of
# more than 10 million steps by itself, so it is nested).
ENDLESS = "#let x = 0\n#for i in range(10000) { for j in range(10000) { x += 1 } }\n#x"


async def test_templates_are_admin_only_and_start_with_an_english_and_a_german_default(contracts_env) -> None:
    env = contracts_env
    assert (await env.client.get("/contract-templates", headers=env.token("paula", ["procurement"]))).status_code == 403
    r = await env.client.get("/contract-templates", headers=env.token("root", ["admin"]))
    assert r.status_code == 200
    assert {(t["language"], t["version"]) for t in r.json()} >= {("en", 1), ("de", 1)}
    de = await env.client.get("/contract-templates/de/1", headers=env.token("root", ["admin"]))
    assert "Kaufvertrag" in de.json()["body"]


async def test_a_template_that_does_not_compile_or_imports_packages_is_rejected(contracts_env) -> None:
    admin = contracts_env.token("root", ["admin"])
    broken = await contracts_env.client.post(
        "/contract-templates", json={"language": "en", "body": "#let x = ("}, headers=admin
    )
    assert broken.status_code == 422
    assert "does not compile" in broken.json()["detail"]
    for body in ('#import "@preview/x:0.1.0": *', '#let p = "@local/x:0.1.0"; #import p'):
        imports = await contracts_env.client.post(
            "/contract-templates", json={"language": "en", "body": body}, headers=admin
        )
        assert imports.status_code == 422, body
        assert imports.json()["type"].endswith("invalid-template")
        assert "may not import typst packages" in imports.json()["detail"]
    reads_files = await contracts_env.client.post(
        "/contract-templates", json={"language": "en", "body": '#read("/etc/passwd")'}, headers=admin
    )
    assert reads_files.status_code == 422
    nul = await contracts_env.client.post(
        "/contract-templates", json={"language": "en", "body": "a\u0000b"}, headers=admin
    )
    assert nul.status_code == 422


async def test_a_template_beyond_the_render_limits_is_refused_at_upload_and_nothing_is_stored(contracts_env) -> None:
    env = contracts_env
    admin = env.token("root", ["admin"])
    before = (await env.client.get("/contract-templates", headers=admin)).json()
    r = await env.client.post("/contract-templates", json={"language": "en", "body": ENDLESS}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("invalid-template")
    assert "was stopped" in r.json()["detail"]
    huge = await env.client.post(
        "/contract-templates", json={"language": "en", "body": '#let s = "x" * 2000000000\n#s.len()'}, headers=admin
    )
    assert huge.status_code == 422, huge.text
    assert "memory" in huge.json()["detail"]
    assert (await env.client.get("/contract-templates", headers=admin)).json() == before
    assert (await env.client.get("/readyz")).status_code == 200


async def test_a_new_version_is_previewed_and_used_only_after_a_second_admin_activates_it(contracts_env) -> None:
    env = contracts_env
    anna, bert = env.token("anna", ["admin"]), env.token("bert", ["admin"])
    body = default_template("en").replace("Purchase Contract]", "Purchase Contract (framework edition)]")
    r = await env.client.post(
        "/contract-templates", json={"language": "en", "body": body, "description": "framework"}, headers=anna
    )
    assert r.status_code == 201, r.text
    version = r.json()["version"]
    assert (r.json()["status"], r.json()["activated_by"]) == ("pending", None)
    assert version >= 2

    preview = await env.client.get(f"/contract-templates/en/{version}/preview.pdf", headers=anna)
    assert preview.status_code == 200
    assert preview.headers["content-type"] == "application/pdf"
    assert "framework edition" in PdfReader(io.BytesIO(preview.content)).pages[0].extract_text()
    missing = await env.client.get(f"/contract-templates/en/{version + 100}/preview.pdf", headers=anna)
    assert missing.status_code == 404

    before, _ = await generate_contract(env, language="en")
    state = (await env.client.get(f"/contracts/{before.data['contract_id']}", headers=anna)).json()
    assert state["template_version"] < version

    own = await env.client.post(f"/contract-templates/en/{version}/activation", headers=anna)
    assert own.status_code == 403
    assert (own.json()["type"].rsplit("/", 1)[-1], own.json()["rule"]) == ("segregation-of-duties", "template_author")
    activated = await env.client.post(f"/contract-templates/en/{version}/activation", headers=bert)
    assert activated.status_code == 200, activated.text
    assert (activated.json()["status"], activated.json()["activated_by"]) == ("active", "bert")
    again = await env.client.post(f"/contract-templates/en/{version}/activation", headers=bert)
    assert again.status_code == 409
    assert again.json()["active_version"] == version
    listed = {t["version"]: t["status"] for t in (await env.client.get("/contract-templates", headers=bert)).json()}
    assert listed[version] == "active"
    assert listed[1] == "superseded"

    generated, _ = await generate_contract(env, language="en")
    state = (await env.client.get(f"/contracts/{generated.data['contract_id']}", headers=anna)).json()
    assert state["template_version"] == version
    pdf = (await env.client.get(local_path(generated.data["document_url"]))).content
    assert "framework edition" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()

    connection = await asyncpg.connect(env.database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        entries = [
            json.loads(row["content"]) for row in await connection.fetch("SELECT content FROM audit_entry ORDER BY seq")
        ]
    finally:
        await connection.close()
    facts = [(e["type"], e["data"].get("created_by"), e["data"].get("activated_by")) for e in entries]
    facts = [f for e, f in zip(entries, facts, strict=True) if e["subject"] == f"en/{version}"]
    assert facts == [("contract_template.added", "anna", None), ("contract_template.activated", "anna", "bert")]


async def test_concurrent_uploads_of_one_language_get_consecutive_versions(contracts_env) -> None:
    """Two admins (or one double-click) uploading at the same moment: each upload gets its own next
    version, none a 500 from the (language, version) unique key."""
    env = contracts_env
    anna = env.token("anna", ["admin"])
    body = default_template("de")
    uploads = [
        env.client.post(
            "/contract-templates", json={"language": "de", "body": body, "description": f"c{n}"}, headers=anna
        )
        for n in range(3)
    ]
    answers = await asyncio.gather(*uploads)
    assert [a.status_code for a in answers] == [201, 201, 201], [a.text[:200] for a in answers]
    versions = sorted(a.json()["version"] for a in answers)
    assert versions == list(range(versions[0], versions[0] + 3))
