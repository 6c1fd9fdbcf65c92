"""The audit log: template versions and group changes are facts of the chain, with every checklist event."""

from __future__ import annotations

import json

from checklists_testkit import HR, Service, auth, employee, unique

from backoffice_common.audit import verify_chain

ADMIN = auth("root", "admin")


async def test_a_template_version_a_group_change_and_the_checklist_events_are_facts_of_the_chain(
    service: Service,
) -> None:
    key = unique("onboarding-audited")
    body = {
        "kind": "onboarding",
        "language": "en",
        "title": "Audited onboarding",
        "items": [
            {
                "key": "desk",
                "title": "Desk",
                "responsible": "facilities",
                "due": {"anchor": "start_date", "offset_days": 0},
            }
        ],
    }
    assert (await service.client.put(f"/templates/{key}", json=body, headers=HR)).status_code == 201
    group = unique("grp")
    assert (
        await service.client.put(f"/groups/{group}", json={"members": ["ida", "ivo"]}, headers=HR)
    ).status_code == 200
    assert (
        await service.client.put(f"/groups/{group}", json={"members": ["ivo", "uli"]}, headers=HR)
    ).status_code == 200
    cid = (await service.start("onboarding", employee(unique("emp"))))["id"]

    assert (await service.client.get("/admin/audit/chain", headers=HR)).status_code == 403
    r = await service.client.get("/admin/audit/chain", params={"limit": 5000}, headers=ADMIN)
    assert r.status_code == 200, r.text
    rows = r.json()
    assert verify_chain(rows) is None
    facts = [json.loads(row["content"]) for row in rows]
    [added] = [f for f in facts if f["type"] == "checklist_template.added" and f["data"]["key"] == key]
    assert (added["data"]["version"], added["data"]["by"]) == (1, "hanna")
    assert added["data"]["items"][0]["key"] == "desk"
    changes = [f["data"] for f in facts if f["type"] == "checklist_group.members_set" and f["data"]["group"] == group]
    assert [(c["added"], c["removed"]) for c in changes] == [(["ida", "ivo"], []), (["uli"], ["ida"])]
    assert any(f["type"] == "checklist.started" and f["data"]["checklist_id"] == cid for f in facts)
