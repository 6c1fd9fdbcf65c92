"""The template admin API: versioned templates per language, checked before they are used."""

from __future__ import annotations

import io

from contracts_testkit import generate_contract, local_path
from pypdf import PdfReader

from backoffice_contracts.documents.pdf import default_template


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
    imports = await contracts_env.client.post(
        "/contract-templates", json={"language": "en", "body": '#import "@preview/x:0.1.0": *'}, headers=admin
    )
    assert imports.status_code == 422
    assert "packages" in imports.json()["detail"]
    reads_files = await contracts_env.client.post(
        "/contract-templates", json={"language": "en", "body": '#read("/etc/passwd")'}, headers=admin
    )
    assert reads_files.status_code == 422
    nul = await contracts_env.client.post(
        "/contract-templates", json={"language": "en", "body": "a\u0000b"}, headers=admin
    )
    assert nul.status_code == 422


async def test_a_new_template_version_is_used_for_the_next_contract(contracts_env) -> None:
    env = contracts_env
    admin = env.token("root", ["admin"])
    body = default_template("en").replace("Purchase Contract]", "Purchase Contract (framework edition)]")
    r = await env.client.post(
        "/contract-templates", json={"language": "en", "body": body, "description": "framework"}, headers=admin
    )
    assert r.status_code == 201, r.text
    version = r.json()["version"]
    assert version >= 2
    generated, _ = await generate_contract(env, language="en")
    state = (await env.client.get(f"/contracts/{generated.data['contract_id']}", headers=admin)).json()
    assert state["template_version"] == version
    pdf = (await env.client.get(local_path(generated.data["document_url"]))).content
    assert "framework edition" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
