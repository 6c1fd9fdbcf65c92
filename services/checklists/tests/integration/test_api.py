"""The HTTP API against the real database: start, my items, completing with evidence, HR view, templates."""

from __future__ import annotations

import asyncio
from typing import Any

from checklists_testkit import HR, Service, assert_problem, auth, days_ago, employee, items_by_key, unique
from sqlalchemy import event

from backoffice_checklists.repository.checklists import ChecklistRepository


async def test_starting_twice_returns_the_same_checklist_and_publishes_once(service: Service) -> None:
    eid = unique("emp")
    first = await service.start("onboarding", employee(eid, language="de"))
    again = await service.start("onboarding", employee(eid, language="de"), expect=200)
    assert again["id"] == first["id"]
    assert first["template"] == {"key": "onboarding-de", "version": 1}
    assert items_by_key(first)["accounts"]["title"] == "Benutzerkonto, E-Mail und Gruppen anlegen"
    started = await service.events.wait_for("checklist.started", subject=first["id"])
    ready = await service.events.wait_for("checklist.item_ready", subject=first["id"], count=3)
    assert len(started) == 1
    mail = next(e.data for e in ready if e.data["item"]["key"] == "contract_filed")
    assert mail["language"] == "de"
    assert mail["employee"]["name"] == "Erika Muster"
    assert mail["item"]["assignee_group"] == "hr"
    assert mail["item"]["due_on"] == "2027-01-18"
    assert [c["id"] for c in await service.of_employee(eid)] == [first["id"]]


async def test_items_reach_their_group_in_dependency_order_with_the_evidence_they_ask_for(service: Service) -> None:
    eid = unique("emp")
    it_person = unique("ivan")
    r = await service.client.put("/groups/it", json={"members": [it_person]}, headers=HR)
    assert r.status_code == 200, r.text
    checklist = await service.start("onboarding", employee(eid, location="remote"))
    cid = checklist["id"]
    assert "workplace" not in items_by_key(checklist)
    ivan = auth(it_person)

    async def mine(headers: dict[str, str]) -> set[str]:
        r = await service.client.get("/me/items", headers=headers)
        assert r.status_code == 200, r.text
        return {i["key"] for i in r.json() if i["checklist_id"] == cid}

    assert await mine(ivan) == set()
    assert_problem(await service.complete(cid, "laptop", HR, serial_number="SN-1"), 409)
    assert_problem(await service.complete(cid, "contract_filed", HR), 422)
    assert (await service.complete(cid, "contract_filed", HR, document_reference="DMS-7")).status_code == 200
    assert (await service.complete(cid, "personnel_data", HR)).status_code == 200
    assert await mine(ivan) == {"accounts", "laptop"}
    assert_problem(await service.complete(cid, "laptop", auth(unique("eve"))), 403)
    done = await service.complete(cid, "laptop", ivan, serial_number="PF3X9Z1")
    assert done.status_code == 200, done.text
    assert done.json()["evidence"] == {"serial_number": "PF3X9Z1"}
    assert done.json()["done_by"] == it_person
    assert await mine(ivan) == {"accounts"}
    assert "welcome" in await mine(auth("mona"))
    event = await service.events.wait_for("checklist.item_done", subject=cid, count=3)
    assert {e.data["item"]["key"] for e in event} == {"contract_filed", "personnel_data", "laptop"}


async def test_the_employee_reads_their_checklist_and_others_do_not(service: Service) -> None:
    eid = unique("emp")
    cid = (await service.start("onboarding", employee(eid)))["id"]
    assert (await service.client.get(f"/checklists/{cid}", headers=auth(eid))).status_code == 200
    assert_problem(await service.client.get(f"/checklists/{cid}", headers=auth(unique("other"))), 403)
    assert_problem(await service.client.get(f"/employees/{eid}/checklists", headers=auth("nosy")), 403)
    assert_problem(await service.client.get("/checklists", headers=auth(eid)), 403)
    assert_problem(await service.client.get("/checklists/not-a-uuid", headers=HR), 422)
    missing = "00000000-0000-0000-0000-000000000000"
    assert_problem(await service.client.get(f"/checklists/{missing}", headers=HR), 404)


async def test_hr_sees_running_checklists_with_progress_and_overdue_items(service: Service) -> None:
    eid = unique("emp")
    cid = (await service.start("onboarding", employee(eid, start_date=days_ago(20))))["id"]
    await service.complete(cid, "contract_filed", HR, document_reference="DMS-1")
    r = await service.client.get("/checklists", params={"kind": "onboarding", "limit": 200}, headers=HR)
    assert r.status_code == 200, r.text
    mine = next(c for c in r.json() if c["id"] == cid)
    assert mine["progress"] == {"done": 1, "total": 8, "percent": 12}
    assert "personnel_data" in {i["key"] for i in mine["overdue_items"]}
    assert "contract_filed" not in {i["key"] for i in mine["overdue_items"]}


async def test_bad_input_is_a_problem_and_never_half_written(service: Service) -> None:
    eid = unique("emp")
    offboarding_without_last_day = {"kind": "offboarding", "employee": employee(eid)}
    assert_problem(await service.client.post("/checklists", json=offboarding_without_last_day, headers=HR), 422)
    backwards = employee(eid, last_day="2020-01-01")
    body = {"kind": "offboarding", "employee": backwards}
    assert_problem(await service.client.post("/checklists", json=body, headers=HR), 422)
    body = {"kind": "onboarding", "employee": employee(eid, name="a\x00b")}
    assert_problem(await service.client.post("/checklists", json=body, headers=HR), 422)
    assert_problem(await service.client.post("/checklists", json={"kind": "onboarding"}, headers=auth("x")), 403)
    assert await service.of_employee(eid) == []


async def test_cancelled_checklists_refuse_items_and_a_new_one_can_start(service: Service) -> None:
    eid = unique("emp")
    cid = (await service.start("onboarding", employee(eid)))["id"]
    r = await service.client.post(f"/checklists/{cid}/cancel", json={"reason": "offer withdrawn"}, headers=HR)
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert_problem(await service.complete(cid, "contract_filed", HR, document_reference="x"), 409)
    again = await service.start("onboarding", employee(eid))
    assert again["id"] != cid
    cancelled = await service.events.wait_for("checklist.cancelled", subject=cid)
    assert cancelled[0].data["reason"] == "offer withdrawn"


async def test_a_template_edit_is_a_new_version_and_the_preview_shows_what_an_employee_gets(service: Service) -> None:
    key = unique("onboarding-sales")
    body = {
        "kind": "onboarding",
        "language": "en",
        "title": "Sales onboarding",
        "items": [
            {
                "key": "crm",
                "title": "CRM access",
                "responsible": "it",
                "due": {"anchor": "start_date", "offset_days": 0},
            },
            {
                "key": "car",
                "title": "Company car",
                "responsible": "facilities",
                "due": {"anchor": "start_date", "offset_days": 7},
                "evidence": "serial_number",
                "depends_on": ["crm"],
                "conditions": {"location": ["field"]},
            },
        ],
    }
    r = await service.client.put(f"/templates/{key}", json=body, headers=HR)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1
    body["title"] = "Sales onboarding, second edition"
    r = await service.client.put(f"/templates/{key}", json=body, headers=HR)
    assert r.json()["version"] == 2
    versions = (await service.client.get(f"/templates/{key}/versions", headers=HR)).json()
    assert [(v["version"], v["title"]) for v in versions] == [(1, "Sales onboarding"), (2, body["title"])]
    preview = await service.client.post(
        f"/templates/{key}/preview", json={"employee": employee("x", location="field")}, headers=HR
    )
    assert preview.status_code == 200, preview.text
    assert [(i["key"], i["due_on"], i["status"]) for i in preview.json()] == [
        ("crm", "2027-02-01", "waiting"),
        ("car", "2027-02-08", "waiting"),
    ]
    office = await service.client.post(f"/templates/{key}/preview", json={"employee": employee("x")}, headers=HR)
    assert [i["key"] for i in office.json()] == ["crm"]
    eid = unique("emp")
    body = {"kind": "onboarding", "employee": employee(eid, location="field"), "template": key}
    started = await service.client.post("/checklists", json=body, headers=HR)
    assert started.status_code == 201, started.text
    assert started.json()["template"] == {"key": key, "version": 2}
    assert [i["key"] for i in started.json()["items"]] == ["crm", "car"]
    body = {"kind": "offboarding", "employee": employee(unique("emp"), last_day="2027-06-30"), "template": key}
    assert_problem(await service.client.post("/checklists", json=body, headers=HR), 422)
    listed = (await service.client.get("/templates", headers=HR)).json()
    assert {"onboarding-de", "onboarding-en", "offboarding-de", "offboarding-en", key} <= {t["key"] for t in listed}


async def test_a_template_that_could_never_run_is_refused(service: Service) -> None:
    key = unique("broken")
    item = {"title": "t", "responsible": "hr", "due": {"anchor": "start_date", "offset_days": 0}}
    cyclic = {
        "kind": "onboarding",
        "language": "en",
        "title": "Broken",
        "items": [{**item, "key": "a", "depends_on": ["b"]}, {**item, "key": "b", "depends_on": ["a"]}],
    }
    problem = assert_problem(await service.client.put(f"/templates/{key}", json=cyclic, headers=HR), 422)
    assert "cycle" in problem["detail"]
    assert_problem(await service.client.get(f"/templates/{key}", headers=HR), 404)
    offboarding = {**cyclic, "items": [{**item, "key": "a"}], "kind": "offboarding"}
    assert_problem(await service.client.put(f"/templates/{key}", json=offboarding, headers=HR), 422)
    german = {**cyclic, "items": [{**item, "key": "a"}], "language": "de"}
    assert (await service.client.put(f"/templates/{key}", json=german, headers=HR)).status_code == 201
    english = {**german, "language": "en"}
    assert_problem(await service.client.put(f"/templates/{key}", json=english, headers=HR), 409)


async def test_the_hr_list_reads_a_page_in_a_constant_number_of_statements(service: Service) -> None:
    department = unique("dept")
    for _ in range(6):
        await service.start("offboarding", employee(unique("emp"), department=department, last_day="2027-06-30"))
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    async def page(limit: int) -> int:
        statements.clear()
        async with service.app.state.session_factory() as session:
            connection = await session.connection()
            event.listen(connection.sync_connection, "before_cursor_execute", count)
            repository = ChecklistRepository(session, lambda aggregate: None)
            found = await repository.page(status="running", kind="offboarding", limit=limit, offset=0)
        assert len(found) == limit
        assert all(c.items for c in found)
        return len(statements)

    assert await page(1) == await page(6) == 2, statements
    r = await service.client.get("/checklists", params={"kind": "offboarding", "limit": 6}, headers=HR)
    assert r.status_code == 200
    assert len(r.json()) == 6


async def test_concurrent_replacements_of_a_group_end_as_one_of_them_never_a_500(service: Service) -> None:
    """Two HR people saving the same group at once (or a double-click): each PUT is answered 200, and the
    group ends as one of the lists sent, not a mix."""
    group = unique("grp").lower().replace("_", "-")
    lists = [[f"m{n}-a", f"m{n}-b", "shared"] for n in range(4)]
    answers = await asyncio.gather(
        *(service.client.put(f"/groups/{group}", json={"members": m}, headers=HR) for m in lists)
    )
    assert [a.status_code for a in answers] == [200] * 4, [a.text[:200] for a in answers]
    final = (await service.client.get(f"/groups/{group}", headers=HR)).json()["members"]
    assert final in [sorted(m) for m in lists]
