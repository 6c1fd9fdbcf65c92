import copy
import json

from approvals_testkit import POLICY

from backoffice_common.audit import verify_chain

YAML_POLICY = """
name: yaml policy
base_currency: EUR
steps:
  - name: manager
    approvers: {kind: manager}
    when: {categories: [hardware]}
  - name: finance
    approvers: {kind: group, group: legal, mode: quorum, quorum: 1}
    when: {amount_min: "50000"}
"""


async def test_a_policy_naming_an_unknown_group_is_refused_with_its_location(service):
    bad = copy.deepcopy(POLICY)
    bad["steps"][2]["approvers"]["group"] = "nobody"
    r = await service.client.post("/policies", json=bad, headers=service.admin)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert {"location": "steps[2].approvers.group", "message": "unknown group 'nobody'"} in r.json()["errors"]


async def test_a_malformed_condition_is_refused_with_its_location(service):
    bad = copy.deepcopy(POLICY)
    bad["steps"][0]["when"] = {"amount_min": "-5"}
    r = await service.client.post("/policies", json=bad, headers=service.admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["location"] == "steps[0].when.amount_min"


async def test_a_yaml_policy_is_validated_and_nothing_is_stored_when_invalid(service):
    headers = {**service.admin, "content-type": "application/yaml"}
    r = await service.client.post("/policies", content=YAML_POLICY.replace("quorum: 1", "quorum: 5"), headers=headers)
    assert r.status_code == 422
    assert "steps[1].approvers.quorum" in r.text
    r = await service.client.post("/policies", content="steps: [unclosed", headers=headers)
    assert r.status_code == 422
    assert "YAML" in r.json()["detail"]
    active = (await service.client.get("/policies/active", headers=service.admin)).json()
    assert active["name"] == "test policy"
    versions = (await service.client.get("/policies", headers=service.admin)).json()
    assert versions[0]["version"] == active["version"]


async def test_a_directory_with_a_cycle_of_managers_is_refused_and_left_unchanged(service):
    r = await service.client.put(
        "/directory/approvers/carol", json={"name": "Carol", "manager_id": "mike"}, headers=service.admin
    )
    assert r.status_code == 422
    assert "cycle of managers" in r.json()["detail"]
    carol = (await service.client.get("/directory/approvers/carol", headers=service.admin)).json()
    assert carol["manager_id"] is None


async def test_a_negative_limit_and_a_nul_byte_are_refused(service):
    r = await service.client.put(
        "/directory/approvers/zed", json={"name": "Zed", "limit_amount": "-1"}, headers=service.admin
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["location"] == "body.limit_amount"
    r = await service.client.put("/directory/approvers/zed", json={"name": "Z\u0000ed"}, headers=service.admin)
    assert r.status_code == 422
    r = await service.client.get("/directory/approvers/zed", headers=service.admin)
    assert r.status_code == 404


async def test_a_csv_import_reports_the_bad_row_and_imports_nothing(service):
    csv = "id,name,email,manager_id,groups,limit_amount,limit_currency\nkim,Kim,kim@example.com,dave,finance;audit,7000,EUR\nlou,Lou,lou@example.com,dave,,abc,EUR\n"
    headers = {**service.admin, "content-type": "text/csv"}
    r = await service.client.post("/directory/approvers/import", content=csv, headers=headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["location"] == "rows[1].limit_amount"
    assert (await service.client.get("/directory/approvers/kim", headers=service.admin)).status_code == 404
    r = await service.client.post("/directory/approvers/import", content=csv.replace("abc", "100"), headers=headers)
    assert r.status_code == 200
    assert r.json() == {"imported": 2}
    kim = (await service.client.get("/directory/approvers/kim", headers=service.admin)).json()
    assert kim["groups"] == ["audit", "finance"]
    assert kim["manager_id"] == "dave"


async def test_the_admin_api_needs_the_admin_role(service):
    r = await service.client.post("/policies", json=POLICY, headers=service.headers("mike"))
    assert r.status_code == 403
    r = await service.client.get("/directory/approvers")
    assert r.status_code == 401


async def test_a_dry_run_explains_who_approves_in_which_order(service):
    body = {
        "request": {
            "requester": {"id": "alice"},
            "currency": "USD",
            "total": "30000",
            "category": "hardware",
            "department": "ENG",
        },
    }
    r = await service.client.post("/policies/dry-run", json=body, headers=service.admin)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert [(s["name"], [a["assignee"]["id"] for a in s["approvers"]]) for s in plan["steps"]] == [
        ("manager", ["dave"]),
        ("head", ["carol"]),
    ]
    assert any("limit" in reason for reason in plan["steps"][0]["reasons"])
    draft = copy.deepcopy(POLICY)
    draft["steps"][0]["approvers"] = {"kind": "user", "user": "ghost"}
    r = await service.client.post("/policies/dry-run", json={**body, "policy": draft}, headers=service.admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["location"] == "policy.steps[0].approvers.user"


async def test_a_policy_in_a_currency_without_an_exchange_rate_is_refused(service):
    bad = {**copy.deepcopy(POLICY), "base_currency": "CHF"}
    r = await service.client.post("/policies", json=bad, headers=service.admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"location": "base_currency", "message": "no exchange rate is configured for CHF (APPROVALS_EXCHANGE_RATES)"}
    ]


async def test_an_import_of_five_thousand_approvers_is_stored_whole(service):
    # More rows than one INSERT can carry (PostgreSQL allows 32,767 parameters, ten a row).
    rows = "".join(f"bulk{i:05d},Bulk {i},bulk{i}@example.com,,bulk,100,EUR\n" for i in range(5000))
    csv = "id,name,email,manager_id,groups,limit_amount,limit_currency\n" + rows
    headers = {**service.admin, "content-type": "text/csv"}
    r = await service.client.post("/directory/approvers/import", content=csv, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"imported": 5000}
    last = await service.client.get("/directory/approvers/bulk04999", headers=service.admin)
    assert last.json()["email"] == "bulk4999@example.com"


async def test_a_policy_nested_sixty_thousand_deep_is_refused_as_malformed(service):
    for content_type in ("application/json", "application/yaml"):
        headers = {**service.admin, "content-type": content_type}
        r = await service.client.post("/policies", content="[" * 60_000, headers=headers)
        assert r.status_code == 422, r.text
        assert "nested too deeply" in r.json()["detail"]


async def test_a_loaded_policy_and_a_directory_change_are_facts_of_the_audit_chain(service):
    policy = copy.deepcopy(POLICY) | {"name": "audited policy"}
    loaded = await service.client.post("/policies", json=policy, headers=service.admin)
    assert loaded.status_code == 201, loaded.text
    r = await service.client.put("/directory/approvers/audra", json={"name": "Audra"}, headers=service.admin)
    assert r.status_code == 200, r.text
    rows = (await service.client.get("/admin/audit/chain", params={"limit": 5000}, headers=service.admin)).json()
    facts = [json.loads(row["content"]) for row in rows]
    policies = [f for f in facts if f["type"] == "approval_policy.loaded" and f["data"]["name"] == "audited policy"]
    assert policies[0]["data"]["version"] == loaded.json()["version"]
    assert policies[0]["data"]["created_by"] == "root"
    saved = [f for f in facts if f["type"] == "directory.approvers_saved"]
    assert {"id": "audra"}.items() <= saved[-1]["data"]["approvers"][0].items()
    assert verify_chain(rows) is None


async def test_a_directory_entry_carries_a_language_from_json_csv_or_the_default_and_a_bad_tag_is_refused(service):
    r = await service.client.put(
        "/directory/approvers/uwe", json={"name": "Uwe", "language": "de-AT"}, headers=service.admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["language"] == "de-AT"
    r = await service.client.put("/directory/approvers/ula", json={"name": "Ula"}, headers=service.admin)
    assert r.json()["language"] == service.settings.default_language == "en"
    r = await service.client.put(
        "/directory/approvers/uwe", json={"name": "Uwe", "language": "deutsch!"}, headers=service.admin
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["location"] == "body.language"
    assert (await service.client.get("/directory/approvers/uwe", headers=service.admin)).json()["language"] == "de-AT"
    csv = "id,name,email,language\numa,Uma,uma@example.com,de\nudo,Udo,udo@example.com,\n"
    r = await service.client.post(
        "/directory/approvers/import", content=csv, headers={**service.admin, "content-type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    listed = {a["id"]: a for a in (await service.client.get("/directory/approvers", headers=service.admin)).json()}
    assert (listed["uma"]["language"], listed["udo"]["language"]) == ("de", "en")
