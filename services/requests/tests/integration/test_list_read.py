"""``GET /requests`` in one raw statement on a pooled connection without a unit of work: the same pages, byte
for byte, as the unit of work's list on SQLAlchemy Core (``queries.list_requests``), for every kind of reader,
every filter and every page of a cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from requests_testkit import VENDOR, Service, auth, person, unique_user

from backoffice_common.auth import User
from backoffice_common.testing import eventually
from backoffice_requests.domain.lifecycle import Status
from backoffice_requests.schemas import RequestPageRead
from backoffice_requests.service import queries
from backoffice_requests.service.uow import RequestsUnitOfWork


async def _reference(service: Service, user: User, params: dict[str, Any]) -> RequestPageRead:
    where = queries.RequestFilter(
        Status(params["status"]) if "status" in params else None,
        params.get("requester"),
        params.get("vendor_id"),
        params.get("department"),
        datetime.fromisoformat(params["created_from"]) if "created_from" in params else None,
        datetime.fromisoformat(params["created_to"]) if "created_to" in params else None,
        params.get("q"),
    )
    async with service.app.state.uow_factory() as uow:
        assert isinstance(uow, RequestsUnitOfWork)
        return await queries.list_requests(
            uow, user=user, where=where, cursor=params.get("cursor"), limit=params.get("limit", 50)
        )


async def _walk(service: Service, user: User, params: dict[str, Any]) -> list[str]:
    """Every page of the list as the route answers it, each compared with the reference; the ids seen."""
    seen: list[str] = []
    cursor = None
    headers = auth(user.sub, *sorted(user.roles))
    while True:
        asked = {**params, **({"cursor": cursor} if cursor else {})}
        response = await service.client.get("/requests", params=asked, headers=headers)
        assert response.status_code == 200, response.text
        expected = await _reference(service, user, asked)
        assert response.content == expected.model_dump_json().encode(), asked
        seen += [x["id"] for x in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return seen


async def test_the_one_statement_list_answers_byte_for_byte_as_the_unit_of_works_list(service: Service) -> None:
    alice, bob, carol = unique_user("alice"), unique_user("bob"), unique_user("carol")
    started = datetime.now(UTC) - timedelta(seconds=1)
    created: list[tuple[str, str]] = []
    for i in range(6):
        owner = bob if i % 3 == 1 else alice
        title = f"Desk {i} 50%_off" if i == 3 else f"Desk {i}"
        department = "OPS" if i % 2 else "ENG"
        if i % 2:
            request = await service.submitted(owner, title=title, department=department)
        else:
            request = await service.create(owner, title=title, department=department)
        created.append((owner, request["id"]))
    assigned = created[2][1]
    await service.emit(
        "backoffice.approvals",
        "approval.task_assigned",
        assigned,
        task_id="t-list",
        request_id=assigned,
        revision=1,
        chain_id="c",
        step=1,
        assignee=person(bob),
        on_behalf_of=None,
        due_at=None,
    )

    async def visible() -> bool:
        return (await service.client.get(f"/requests/{assigned}", headers=auth(bob, "approver"))).status_code == 200

    await eventually(visible)
    middle = (await service.read(created[3][1], alice))["created_at"]
    readers = [
        User(sub=alice, roles=frozenset({"requester"})),
        User(sub=bob, roles=frozenset({"approver"})),
        User(sub=carol, roles=frozenset({"requester"})),
    ]
    shapes: list[dict[str, Any]] = [
        {},
        {"status": "draft"},
        {"status": "submitted", "department": "OPS"},
        {"vendor_id": VENDOR},
        {"department": "ENG"},
        {"q": "desk"},
        {"q": "50%_"},
        {"q": "DESK 1"},
        {"created_from": started.isoformat()},
        {"created_from": middle},
        {"created_to": middle},
        {"created_from": started.isoformat(), "created_to": middle, "status": "draft", "q": "desk"},
        {"requester": alice},
    ]
    for user in readers:
        for shape in shapes:
            for limit in (1, 2, 50):
                await _walk(service, user, {**shape, "limit": limit})
    # procurement sees every request: limited to this test's ones (others' requests change meanwhile)
    procurement = User(sub=unique_user("buyer"), roles=frozenset({"procurement"}))
    for owner in (alice, bob):
        for shape in shapes:
            await _walk(service, procurement, {**shape, "requester": owner, "limit": 2})
    # what each sees, as before: their own and what they were asked to approve, newest first
    assert await _walk(service, readers[1], {"limit": 2}) == [
        rid for owner, rid in reversed(created) if owner == bob or rid == assigned
    ]
    assert await _walk(service, readers[2], {}) == []


async def test_the_list_opens_no_unit_of_work(service: Service) -> None:
    alice = unique_user("alice")
    rid = (await service.create(alice))["id"]
    factory = service.app.state.uow_factory

    def refused() -> RequestsUnitOfWork:
        raise AssertionError("GET /requests opened a unit of work")

    service.app.state.uow_factory = refused
    try:
        response = await service.client.get("/requests", headers=auth(alice))
        bad = await service.client.get("/requests", params={"cursor": "not-a-cursor"}, headers=auth(alice))
    finally:
        service.app.state.uow_factory = factory
    assert response.status_code == 200, response.text
    assert [x["id"] for x in response.json()["items"]] == [rid]
    assert bad.status_code == 400, bad.text
    assert bad.json()["type"].endswith("bad-cursor")
