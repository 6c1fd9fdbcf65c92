"""``GET /requests/{id}`` and its timeline read in one statement on a pooled connection without a unit of work: the same
answers, byte for byte, as the unit of work's read (``queries.request_read``, which a command's answer
still uses), for every kind of reader."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter
from requests_testkit import Service, assert_problem, auth, person, unique_user

from backoffice_common.auth import User
from backoffice_common.errors import NotFound
from backoffice_common.testing import eventually
from backoffice_requests.schemas import TimelineEntryRead
from backoffice_requests.service import queries
from backoffice_requests.service.uow import RequestsUnitOfWork


async def _uow_read(service: Service, user: User, request_id: str) -> bytes:
    async with service.app.state.uow_factory() as uow:
        assert isinstance(uow, RequestsUnitOfWork)
        read = await queries.request_read(uow, user=user, request_id=request_id)
        return read.model_dump_json().encode()


async def test_the_one_statement_read_answers_byte_for_byte_as_the_unit_of_works_read(service: Service) -> None:
    alice, bob, carol, buyer = unique_user("alice"), unique_user("bob"), unique_user("carol"), unique_user("buyer")
    request = await service.submitted(alice)
    rid = request["id"]
    await service.emit(
        "backoffice.approvals",
        "approval.task_assigned",
        rid,
        task_id="t-read",
        request_id=rid,
        revision=1,
        chain_id="c",
        step=1,
        assignee=person(bob),
        on_behalf_of=None,
        due_at="2030-01-02T03:04:05Z",
    )

    async def visible() -> bool:
        return (await service.client.get(f"/requests/{rid}", headers=auth(bob, "approver"))).status_code == 200

    await eventually(visible)
    readers: list[tuple[str, list[str]]] = [(alice, []), (bob, ["approver"]), (buyer, ["procurement"])]
    for sub, roles in readers:
        response = await service.client.get(f"/requests/{rid}", headers=auth(sub, *roles))
        assert response.status_code == 200, response.text
        expected = await _uow_read(service, User(sub=sub, roles=frozenset(roles)), rid)
        assert response.content == expected
        assert response.headers["etag"] == f'"{request["version"]}"'
        body: dict[str, Any] = response.json()
        # the timeline is in it: an approver's open task is what the request waits on
        assert body["waiting_on"]["what"]
        assert body["waiting_on"]["who"]["id"] == bob
    # someone neither the requester nor assigned: the same 404 as a missing request, as before
    assert_problem(await service.client.get(f"/requests/{rid}", headers=auth(carol, "approver")), 404)
    with pytest.raises(NotFound):
        await _uow_read(service, User(sub=carol, roles=frozenset({"approver"})), rid)
    missing = "00000000-0000-4000-8000-000000000000"
    assert_problem(await service.client.get(f"/requests/{missing}", headers=auth(buyer, "procurement")), 404)

    # the timeline, the same way: the same entries as the unit of work's timeline_of, in each language
    for (sub, roles), language in zip(readers, ("en", "de", "en"), strict=True):
        headers = {**auth(sub, *roles), "Accept-Language": language}
        response = await service.client.get(f"/requests/{rid}/timeline", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["timeline-source"] == "live"
        async with service.app.state.uow_factory() as uow:
            timeline = await queries.timeline_of(
                uow, user=User(sub=sub, roles=frozenset(roles)), request_id=rid, language=language
            )
        expected_entries = TypeAdapter(list[TimelineEntryRead]).dump_json(timeline.entries)
        assert response.json() == json.loads(expected_entries)
        assert {e["type"] for e in response.json()} >= {"purchase_request.submitted", "approval.task_assigned"}
    assert_problem(await service.client.get(f"/requests/{rid}/timeline", headers=auth(carol, "approver")), 404)


async def test_the_read_opens_no_unit_of_work(service: Service) -> None:
    alice = unique_user("alice")
    rid = (await service.create(alice))["id"]
    factory = service.app.state.uow_factory

    def refused() -> RequestsUnitOfWork:
        raise AssertionError("GET /requests/{id} opened a unit of work")

    service.app.state.uow_factory = refused
    try:
        response = await service.client.get(f"/requests/{rid}", headers=auth(alice))
        timeline = await service.client.get(f"/requests/{rid}/timeline", headers=auth(alice))
    finally:
        service.app.state.uow_factory = factory
    assert response.status_code == 200, response.text
    assert response.json()["id"] == rid
    assert timeline.status_code == 200, timeline.text
    assert [e["type"] for e in timeline.json()] == ["purchase_request.drafted"]
