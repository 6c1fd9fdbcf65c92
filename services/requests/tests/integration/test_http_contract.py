"""ETag / If-Match, Idempotency-Key, visibility and listing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from requests_testkit import (
    OTHER_VENDOR,
    VENDOR,
    Service,
    assert_problem,
    auth,
    draft_body,
    person,
    unique_user,
    vendor_record,
)

from backoffice_common.testing import eventually, publish_events


async def test_a_draft_is_edited_only_with_the_current_etag(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.create(alice)
    url = f"/requests/{request['id']}"
    assert_problem(await service.client.patch(url, json={"title": "New"}, headers=auth(alice)), 428)
    r = await service.client.patch(
        url,
        json={"title": "New", "vendor_id": OTHER_VENDOR},
        headers={**auth(alice), "If-Match": f'"{request["version"]}"'},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["vendor_id"], r.json()["revision"]) == ("New", OTHER_VENDOR, 1)
    assert r.headers["ETag"] == f'"{r.json()["version"]}"'
    stale = assert_problem(
        await service.client.patch(
            url, json={"title": "Lost"}, headers={**auth(alice), "If-Match": f'"{request["version"]}"'}
        ),
        412,
    )
    assert stale["current_etag"] == r.headers["ETag"]
    assert (await service.read(request["id"], alice))["title"] == "New"
    await service.client.post(f"{url}/submit", headers=auth(alice))
    submitted = await service.read(request["id"], alice)
    refused = assert_problem(
        await service.client.patch(
            url, json={"title": "Late"}, headers={**auth(alice), "If-Match": f'"{submitted["version"]}"'}
        ),
        409,
    )
    assert refused["current_state"] == "submitted"


async def test_the_same_idempotency_key_returns_the_first_answer_and_another_body_gets_422(service: Service) -> None:
    alice = unique_user("alice")
    headers = {**auth(alice), "Idempotency-Key": "create-1"}
    first = await service.client.post("/requests", json=draft_body(), headers=headers)
    again = await service.client.post("/requests", json=draft_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_problem(await service.client.post("/requests", json=draft_body(title="Other"), headers=headers), 422)
    items = (await service.client.get("/requests", headers=auth(alice))).json()["items"]
    assert [x["id"] for x in items] == [first.json()["id"]]
    # Keys belong to their user: the same key from someone else is a different request.
    bob = await service.client.post(
        "/requests", json=draft_body(), headers={**auth(unique_user("bob")), "Idempotency-Key": "create-1"}
    )
    assert bob.status_code == 201
    assert bob.json()["id"] != first.json()["id"]


async def test_concurrent_posts_with_one_idempotency_key_do_the_work_once(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.create(alice)
    headers = {**auth(alice), "Idempotency-Key": "submit-once"}
    results = await asyncio.gather(
        *[service.client.post(f"/requests/{request['id']}/submit", headers=headers) for _ in range(3)]
    )
    assert [r.status_code for r in results] == [200, 200, 200]
    assert len({r.json()["version"] for r in results}) == 1


async def test_a_failed_command_does_not_burn_its_idempotency_key(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.create(alice)
    headers = {**auth(alice), "Idempotency-Key": "cancel-1"}
    url = f"/requests/{request['id']}/cancel"
    assert_problem(await service.client.post(url, json={"reason": "   "}, headers=headers), 422)
    r = await service.client.post(url, json={"reason": "not needed"}, headers=headers)
    assert r.status_code == 200, r.text


async def test_approvers_see_what_they_were_asked_to_approve(service: Service) -> None:
    alice, bob = unique_user("alice"), unique_user("bob")
    request = await service.submitted(alice)
    rid = request["id"]
    assert_problem(await service.client.get(f"/requests/{rid}", headers=auth(bob, "approver")), 404)
    await service.emit(
        "backoffice.approvals",
        "approval.task_assigned",
        rid,
        task_id="t-9",
        request_id=rid,
        revision=1,
        chain_id="c",
        step=1,
        assignee=person(bob),
        on_behalf_of=None,
        due_at=None,
    )

    async def visible() -> bool:
        return (await service.client.get(f"/requests/{rid}", headers=auth(bob, "approver"))).status_code == 200

    await eventually(visible)
    listed = (await service.client.get("/requests", headers=auth(bob, "approver"))).json()["items"]
    assert [x["id"] for x in listed] == [rid]


async def test_a_users_list_is_their_own_requests_and_those_assigned_to_them_paged_newest_first(
    service: Service,
) -> None:
    alice, bob = unique_user("alice"), unique_user("bob")
    created = []
    for i in range(6):
        owner = bob if i % 2 else alice
        created.append((owner, (await service.submitted(owner, title=f"Desk {i}"))["id"]))
    assigned = [created[0][1], created[4][1]]
    for n, rid in enumerate(assigned):
        await service.emit(
            "backoffice.approvals",
            "approval.task_assigned",
            rid,
            task_id=f"t-{n}",
            request_id=rid,
            revision=1,
            chain_id="c",
            step=1,
            assignee=person(bob),
            on_behalf_of=None,
            due_at=None,
        )

    async def both_visible() -> bool:
        answers = [await service.client.get(f"/requests/{rid}", headers=auth(bob)) for rid in assigned]
        return all(a.status_code == 200 for a in answers)

    await eventually(both_visible)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await service.client.get("/requests", params=params, headers=auth(bob))).json()
        assert len(page["items"]) <= 2
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = [rid for owner, rid in reversed(created) if owner == bob or rid in assigned]
    assert seen == expected
    assert created[2][1] not in seen
    only_drafts = (await service.client.get("/requests", params={"status": "draft"}, headers=auth(bob))).json()
    assert only_drafts["items"] == []
    searched = (await service.client.get("/requests", params={"q": "desk 4"}, headers=auth(bob))).json()["items"]
    assert [x["id"] for x in searched] == [created[4][1]]


async def test_the_list_filters_and_pages_with_a_cursor(service: Service) -> None:
    alice = unique_user("alice")
    ids = [
        (await service.create(alice, title=f"Chairs {i}", department="OPS" if i % 2 else "ENG"))["id"] for i in range(5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, "requester": alice, **({"cursor": cursor} if cursor else {})}
        page = (await service.client.get("/requests", params=params, headers=auth("proc", "procurement"))).json()
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    ops = (await service.client.get("/requests", params={"department": "OPS"}, headers=auth(alice))).json()["items"]
    assert {x["title"] for x in ops} == {"Chairs 1", "Chairs 3"}
    text = (await service.client.get("/requests", params={"q": "chairs 4"}, headers=auth(alice))).json()["items"]
    assert [x["id"] for x in text] == [ids[4]]
    drafts = (
        await service.client.get("/requests", params={"status": "draft", "vendor_id": VENDOR}, headers=auth(alice))
    ).json()["items"]
    assert len(drafts) == 5
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    later = (await service.client.get("/requests", params={"created_from": future}, headers=auth(alice))).json()[
        "items"
    ]
    assert later == []


async def test_a_vendor_blocked_later_cannot_be_named_and_older_records_do_not_win(service: Service) -> None:
    vendor_id = f"vendor-{unique_user('v')}"
    now = datetime.now(UTC)
    topic = f"{service.prefix}backoffice.vendors"
    await publish_events(service.bootstrap, topic, [vendor_record(vendor_id, updated_at=now)])
    alice = unique_user("alice")

    async def accepted() -> bool:
        r = await service.client.post("/requests", json=draft_body(vendor_id=vendor_id), headers=auth(alice))
        return r.status_code == 201

    await eventually(accepted)
    await publish_events(
        service.bootstrap,
        topic,
        [
            vendor_record(vendor_id, "blocked", updated_at=now + timedelta(seconds=2)),
            vendor_record(vendor_id, "active", updated_at=now + timedelta(seconds=1)),
        ],
    )

    async def refused() -> bool:
        r = await service.client.post("/requests", json=draft_body(vendor_id=vendor_id), headers=auth(alice))
        return r.status_code == 422 and "blocked" in r.json()["detail"]

    await eventually(refused)
    await asyncio.sleep(1)
    assert await refused()


async def test_the_service_documents_its_api_and_reports_ready(service: Service) -> None:
    paths = (await service.client.get("/openapi.json")).json()["paths"]
    for path in (
        "/requests",
        "/requests/{request_id}/submit",
        "/requests/{request_id}/timeline",
        "/requests/{request_id}/revisions/diff",
    ):
        assert path in paths
    ready = await service.client.get("/readyz")
    assert ready.status_code == 200, ready.text
