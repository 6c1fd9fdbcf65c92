"""``GET /requests/{id}`` and its timeline read in one statement on a pooled connection without a unit of work: the same
answers, byte for byte, as the unit of work's read (``queries.request_read``, which a command's answer
still uses), for every kind of reader."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from requests_testkit import VENDOR, Service, assert_problem, auth, draft_body, person, unique_user
from sqlalchemy import text

from backoffice_common.auth import User
from backoffice_common.errors import NotFound
from backoffice_common.testing import eventually
from backoffice_requests.api import requests as routes
from backoffice_requests.api.fast import FAST_PATHS
from backoffice_requests.api.requests import get_request
from backoffice_requests.schemas import RevisionRead, TimelineEntryRead
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


async def _both_ways(service: Service, path: str, headers: dict[str, str]) -> tuple[httpx.Response, httpx.Response]:
    """The answer as the route gives it (the fast path for a canonical id, ``api.fast``) and through FastAPI's
    own handler (the fast path steps aside for an app with dependency overrides; this one overrides nothing
    a route uses)."""
    quick = await service.client.get(path, headers=headers)
    service.app.dependency_overrides[_unused_dependency] = _unused_dependency
    try:
        slow = await service.client.get(path, headers=headers)
    finally:
        service.app.dependency_overrides.pop(_unused_dependency)
    return quick, slow


def _unused_dependency() -> None:
    raise AssertionError("not a dependency of any route")


def _same(quick: httpx.Response, slow: httpx.Response) -> None:
    assert quick.status_code == slow.status_code
    if quick.status_code == 200:
        assert quick.content == slow.content
    else:  # a problem: the same but for the request's own correlation id
        assert quick.headers["content-type"] == "application/problem+json"
        assert quick.json().pop("correlation_id") == quick.headers["x-correlation-id"]
        assert {**quick.json(), "correlation_id": ""} == {**slow.json(), "correlation_id": ""}
    ignored = {"x-correlation-id", "date"}
    assert [(k, v) for k, v in quick.headers.multi_items() if k not in ignored] == [
        (k, v) for k, v in slow.headers.multi_items() if k not in ignored
    ]


async def test_the_fast_path_answers_byte_for_byte_as_fastapis_handler(service: Service) -> None:
    alice, bob, carol, buyer = unique_user("alice"), unique_user("bob"), unique_user("carol"), unique_user("buyer")
    request = await service.submitted(alice)
    rid = request["id"]
    async with service.app.state.uow_factory() as uow:
        assert isinstance(uow, RequestsUnitOfWork)
        await uow.approvers.remember(request_id=rid, user_id=bob, task_id="t-fast")
        await uow.commit()
    cases = [
        (rid, auth(alice), 200),
        (rid, auth(bob, "approver"), 200),
        (rid, auth(buyer, "procurement"), 200),
        (rid, auth(carol, "approver"), 404),  # neither the requester nor assigned
        ("00000000-0000-4000-8000-000000000000", auth(buyer, "procurement"), 404),
        (rid, {}, 401),
        (rid, {"Authorization": "Bearer not-a-token"}, 401),
        (rid, {"Authorization": "Basic YWxpY2U6c2VjcmV0"}, 401),
        # not the canonical form: FastAPI's handler answers (the upper-case id as the same request, the rest 422)
        (rid.upper(), auth(alice), 200),
        (rid.replace("-", ""), auth(alice), 200),
        ("not-a-uuid", auth(alice), 422),
        (rid + "0", auth(alice), 422),
    ]
    for path_id, headers, status in cases:
        quick, slow = await _both_ways(service, f"/requests/{path_id}", headers)
        assert quick.status_code == status, (path_id, quick.text)
        _same(quick, slow)
        if status == 200:
            assert quick.headers["etag"] == f'"{request["version"]}"'
            assert quick.json()["id"] == rid


async def test_the_fast_path_is_taken_for_a_canonical_id_only(service: Service) -> None:
    alice = unique_user("alice")
    rid = (await service.create(alice))["id"]
    taken: list[bool] = []
    fast = FAST_PATHS[get_request]

    async def counting(http: Any) -> Any:
        answer = await fast(http)
        taken.append(answer is not None)
        return answer

    FAST_PATHS[get_request] = counting
    try:
        for path_id in (rid, rid.upper(), "nope"):
            await service.client.get(f"/requests/{path_id}", headers=auth(alice))
    finally:
        FAST_PATHS[get_request] = fast
    assert taken == [True, False, False]


async def test_a_commands_answer_in_one_statement_is_the_unit_of_works_read(service: Service) -> None:
    alice, bob = unique_user("alice"), unique_user("bob")
    created = await service.client.post("/requests", json=draft_body(), headers=auth(alice))
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert created.content == await _uow_read(service, User(sub=alice, roles=frozenset()), rid)
    submitted = await service.client.post(f"/requests/{rid}/submit", headers=auth(alice))
    assert submitted.status_code == 200, submitted.text
    # in the command's transaction, both reads see its uncommitted writes: an approver assigned in it sees
    # the request, the same model both ways
    async with service.app.state.uow_factory() as uow:
        assert isinstance(uow, RequestsUnitOfWork)
        await uow.approvers.remember(request_id=rid, user_id=bob, task_id="t-answer")
        approver = User(sub=bob, roles=frozenset({"approver"}))
        old = await queries.request_read(uow, user=approver, request_id=rid)
        new = await queries.command_answer(uow, user=approver, request_id=rid)
        assert new.model_dump_json() == old.model_dump_json()
        stranger = User(sub=unique_user("carol"), roles=frozenset({"approver"}))
        with pytest.raises(NotFound):
            await queries.command_answer(uow, user=stranger, request_id=rid)


async def test_the_revisions_in_one_statement_are_the_unit_of_works_and_open_no_unit_of_work(service: Service) -> None:
    alice, bob, carol = unique_user("alice"), unique_user("bob"), unique_user("carol")
    rid = (await service.create(alice))["id"]
    edited = await service.client.patch(
        f"/requests/{rid}", json={"title": "Laptops, edited"}, headers={**auth(alice), "If-Match": '"1"'}
    )
    assert edited.status_code == 200, edited.text
    async with service.app.state.uow_factory() as uow:
        assert isinstance(uow, RequestsUnitOfWork)
        await uow.approvers.remember(request_id=rid, user_id=bob, task_id="t-revisions")
        await uow.commit()
    factory = service.app.state.uow_factory
    for sub, roles in ((alice, ()), (bob, ("approver",)), (carol, ("procurement",))):
        user = User(sub=sub, roles=frozenset(roles))
        async with factory() as uow:
            expected = TypeAdapter(list[RevisionRead]).dump_json(
                await queries.revisions(uow, user=user, request_id=rid)
            )

        def refused() -> RequestsUnitOfWork:
            raise AssertionError("GET /requests/{id}/revisions opened a unit of work")

        service.app.state.uow_factory = refused
        try:
            response = await service.client.get(f"/requests/{rid}/revisions", headers=auth(sub, *roles))
        finally:
            service.app.state.uow_factory = factory
        assert response.status_code == 200, response.text
        assert response.content == expected
        assert [r["content"]["title"] for r in response.json()] == ["Laptops, edited"]
    # a stranger and a missing id: the same 404 as the unit of work's read
    stranger = unique_user("dave")
    assert_problem(await service.client.get(f"/requests/{rid}/revisions", headers=auth(stranger, "approver")), 404)
    async with factory() as uow:
        with pytest.raises(NotFound):
            await queries.revisions(uow, user=User(sub=stranger, roles=frozenset({"approver"})), request_id=rid)
    missing = "00000000-0000-4000-8000-000000000000"
    assert_problem(await service.client.get(f"/requests/{missing}/revisions", headers=auth(carol, "procurement")), 404)


async def test_the_diff_in_one_statement_is_the_unit_of_works(service: Service) -> None:
    alice, carol = unique_user("alice"), unique_user("carol")
    rid = (await service.create(alice))["id"]
    async with service.app.state.uow_factory() as uow:  # a second revision, another title and total
        await uow.session.execute(
            text(
                "INSERT INTO request_revision (request_id, revision, content, created_by)"
                " SELECT request_id, 2, jsonb_set(jsonb_set(content, '{title}', '\"Other\"'), '{total}', '\"1.00\"'),"
                " created_by FROM request_revision WHERE request_id = :rid AND revision = 1"
            ),
            {"rid": rid},
        )
        await uow.session.commit()
    for sub, roles, span in ((alice, (), (1, 2)), (carol, ("procurement",), (2, 1)), (alice, (), (2, 2))):
        user = User(sub=sub, roles=frozenset(roles))
        async with service.app.state.uow_factory() as uow:
            assert isinstance(uow, RequestsUnitOfWork)
            expected = await queries.revision_diff(
                uow, user=user, request_id=rid, from_revision=span[0], to_revision=span[1]
            )
        response = await service.client.get(
            f"/requests/{rid}/revisions/diff?from={span[0]}&to={span[1]}", headers=auth(sub, *roles)
        )
        assert response.status_code == 200, response.text
        assert response.content == expected.model_dump_json().encode()
        if span[0] != span[1]:
            assert {f["field"] for f in response.json()["fields"]} >= {"title"}
    # a missing revision, a stranger: the same 404s as the unit of work's
    missing = await service.client.get(f"/requests/{rid}/revisions/diff?from=1&to=3", headers=auth(alice))
    assert "no revision 3" in assert_problem(missing, 404)["detail"]
    stranger = await service.client.get(f"/requests/{rid}/revisions/diff?from=1&to=2", headers=auth(unique_user("x")))
    assert "that you can see" in assert_problem(stranger, 404)["detail"]


async def test_the_timeline_fast_path_answers_byte_for_byte_as_fastapis_handler(service: Service) -> None:
    alice, bob, carol, buyer = unique_user("alice"), unique_user("bob"), unique_user("carol"), unique_user("buyer")
    request = await service.submitted(alice, title='Zwölf Stühle — «ÿ» \u2028 \\ "quoted" 😀')
    rid = request["id"]
    async with service.app.state.uow_factory() as uow:
        assert isinstance(uow, RequestsUnitOfWork)
        await uow.approvers.remember(request_id=rid, user_id=bob, task_id="t-timeline")
        await uow.commit()
    de, long = {"Accept-Language": "de-CH, en;q=0.5"}, {"Accept-Language": "x" * 1001}
    cases = [
        (rid, auth(alice), 200),
        (rid, {**auth(alice), **de}, 200),
        (rid, {**auth(alice), "Accept-Language": "fr"}, 200),
        (rid, auth(bob, "approver"), 200),
        (rid, {**auth(buyer, "procurement"), **de}, 200),
        (rid, auth(carol, "approver"), 404),
        ("00000000-0000-4000-8000-000000000000", auth(buyer, "procurement"), 404),
        (rid, {}, 401),
        (rid, {"Authorization": "Bearer not-a-token"}, 401),
        (rid, {"Authorization": "Basic YWxpY2U6c2VjcmV0"}, 401),
        (rid, {**auth(alice), **long}, 422),  # FastAPI's handler: the header's max_length
        (rid, {"Authorization": "Bearer not-a-token", **long}, 401),
        (rid.upper(), auth(alice), 200),  # FastAPI's handler, the same request
        ("not-a-uuid", auth(alice), 422),
        (rid + "0", auth(alice), 422),
    ]
    for path_id, headers, status in cases:
        quick, slow = await _both_ways(service, f"/requests/{path_id}/timeline", headers)
        assert quick.status_code == status, (path_id, headers, quick.text)
        _same(quick, slow)
        if status == 200:
            assert quick.headers["timeline-source"] == "live"
            assert [entry["type"] for entry in quick.json()][:2] == [
                "purchase_request.drafted",
                "purchase_request.submitted",
            ]
    german = await service.client.get(f"/requests/{rid}/timeline", headers={**auth(alice), **de})
    assert german.headers["content-language"] == "de"


async def test_the_timeline_fast_path_is_taken_for_canonical_input_only(service: Service) -> None:
    alice = unique_user("alice")
    rid = (await service.create(alice))["id"]
    taken: list[bool] = []
    fast = FAST_PATHS[routes.request_timeline]

    async def counting(http: Any) -> Any:
        try:
            answer = await fast(http)
        except Exception:
            taken.append(False)
            raise
        taken.append(answer is not None)
        return answer

    FAST_PATHS[routes.request_timeline] = counting
    try:
        answers = [
            await service.client.get(f"/requests/{path_id}/timeline", headers={**auth(alice), **extra})
            for path_id, extra in ((rid, {}), (rid.upper(), {}), (rid, {"Accept-Language": "x" * 1001}))
        ]
    finally:
        FAST_PATHS[routes.request_timeline] = fast
    assert [answer.status_code for answer in answers] == [200, 200, 422]
    assert taken == [True, False, False]


async def test_the_read_answers_as_the_unit_of_works_read_in_every_state_of_a_flow(service: Service) -> None:
    """The read carries only the timeline entries ``waiting_on`` reads in the request's status
    (``repository.reads.request_view``): at each step of a whole flow (an open task, a failed delivery, the
    vendor's answer, the contract, its signatures, a receipt), the answer is byte for byte the unit of work's read
    over the whole timeline."""
    alice, bob = unique_user("alice"), unique_user("bob")
    requester = User(sub=alice, roles=frozenset({"requester"}))
    request = await service.submitted(alice)
    rid = request["id"]
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (
            "backoffice.approvals",
            "approval.task_assigned",
            {"task_id": "t1", "request_id": rid, "revision": 1, "step": 1, "assignee": person(bob), "due_at": None},
        ),
        ("backoffice.approvals", "approval.reminder_due", {"task_id": "t1", "request_id": rid}),
        ("backoffice.approvals", "approval.task_decided", {"task_id": "t1", "request_id": rid, "decision": "approved"}),
        (
            "backoffice.approvals",
            "purchase_request.approved",
            {"request": {"request_id": rid, "revision": 1}, "approvers": [person(bob)]},
        ),
        (
            "backoffice.notifications",
            "notification.failed",
            {"request_id": rid, "template": "order", "recipient": "v@example.com", "error": "refused"},
        ),
        ("backoffice.notifications", "vendor.notified", {"request_id": rid, "revision": 1, "vendor_id": VENDOR}),
        (
            "backoffice.notifications",
            "vendor.accepted",
            {"request": {"request_id": rid, "revision": 1}, "vendor": {"vendor_id": VENDOR}},
        ),
        ("backoffice.approvals", "approval.reminder_due", {"task_id": "t9", "request_id": rid}),
        (
            "backoffice.contracts",
            "contract.generated",
            {"contract_id": "k", "request_id": rid, "revision": 1, "vendor_id": VENDOR, "signing_order": "buyer_first"},
        ),
        (
            "backoffice.contracts",
            "contract.signed",
            {"contract_id": "k", "request_id": rid, "party": "buyer", "awaiting": ["vendor"]},
        ),
        ("backoffice.notifications", "vendor.contract_signed", {"request_id": rid, "vendor_id": VENDOR}),
        ("backoffice.contracts", "contract.executed", {"contract_id": "k", "request_id": rid}),
    ]
    seen: set[str] = set()
    for count, (topic, type_, data) in enumerate(steps, 1):
        await service.emit(topic, type_, rid, **data)
        await service.wait_timeline(rid, alice, type_, sum(1 for s in steps[:count] if s[1] == type_))
        response = await service.client.get(f"/requests/{rid}", headers=auth(alice))
        assert response.status_code == 200, response.text
        assert response.content == await _uow_read(service, requester, rid), type_
        seen.add(response.json()["status"])
    assert seen == {
        "submitted",
        "approved",
        "vendor_notified",
        "vendor_accepted",
        "contract_pending",
        "contract_executed",
    }
    receipt = await service.client.post(
        f"/requests/{rid}/receipts", json={"lines": [{"line_no": 1, "quantity": "1"}]}, headers=auth(alice)
    )
    assert receipt.status_code == 200, receipt.text
    assert receipt.json()["status"] == "partially_received"
    for _ in range(2):  # the read right after the command, and again
        response = await service.client.get(f"/requests/{rid}", headers=auth(alice))
        assert response.content == await _uow_read(service, requester, rid)
