"""The commands' fast path (``api.fast``): the same answers as FastAPI's own handler, byte for byte for what
does not change with the request it acts on, for good input and bad; FastAPI answers whatever the fast path
does not take as it stands."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from requests_testkit import OTHER_VENDOR, Service, auth, contract_executed, draft_body, unique_user

from backoffice_requests.api import requests as routes
from backoffice_requests.api.fast import FAST_PATHS

JSON = {"Content-Type": "application/json"}
MISSING = "00000000-0000-4000-8000-000000000000"


def _unused_dependency() -> None:
    raise AssertionError("not a dependency of any route")


async def _slow(service: Service, call: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    """``call`` answered by FastAPI's own handler (the fast path steps aside for an app with dependency
    overrides; this one overrides nothing a route uses)."""
    service.app.dependency_overrides[_unused_dependency] = _unused_dependency
    try:
        return await call()
    finally:
        service.app.dependency_overrides.pop(_unused_dependency)


async def _slow_post(service: Service, path: str, headers: dict[str, str], content: bytes | None) -> httpx.Response:
    return await _slow(service, lambda: service.client.post(path, headers=headers, content=content))


async def _both_ways(
    service: Service, path: str, headers: dict[str, str], content: bytes | None
) -> tuple[httpx.Response, httpx.Response]:
    """The same call through the route (its fast path where it takes it) and through FastAPI's handler."""
    quick = await service.client.post(path, headers=headers, content=content)
    return quick, await _slow_post(service, path, headers, content)


def _same(quick: httpx.Response, slow: httpx.Response, *, ids: tuple[str, str] | None = None) -> None:
    """The same status, headers and body; a problem but for its own correlation id; with ``ids`` (two
    requests the calls acted on, each as it was answered) but for what differs between those requests."""
    assert quick.status_code == slow.status_code, (quick.text, slow.text)
    ignored = {"x-correlation-id", "date"}
    if ids is not None:
        ignored |= {"content-length"}
    quick_headers = [(k, v) for k, v in quick.headers.multi_items() if k not in ignored]
    slow_headers = [(k, v) for k, v in slow.headers.multi_items() if k not in ignored]
    if quick.headers.get("content-type", "").startswith("application/problem+json"):
        assert quick.json().pop("correlation_id") == quick.headers["x-correlation-id"]
        assert {**quick.json(), "correlation_id": ""} == {**slow.json(), "correlation_id": ""}
    elif ids is None:
        assert quick.content == slow.content
    else:
        assert _without(quick.text, ids[0]) == _without(slow.text, ids[1])
        quick_headers = [(k, v.replace(ids[0], "ID")) for k, v in quick_headers]
        slow_headers = [(k, v.replace(ids[1], "ID")) for k, v in slow_headers]
    assert quick_headers == slow_headers


def _without(text: str, request_id: str) -> Any:
    """A request's answer but for its id, number and times."""
    body = json.loads(text.replace(request_id, "ID"))
    for key in ("number", "created_at", "updated_at"):
        body.pop(key, None)
    if body.get("waiting_on"):
        body["waiting_on"].pop("since", None)
    return body


def _body(value: Any) -> bytes:
    return json.dumps(value).encode()


async def test_a_draft_is_created_the_same_both_ways(service: Service) -> None:
    alice = unique_user("alice")
    headers = {**auth(alice), **JSON}
    quick, slow = await _both_ways(service, "/requests", headers, _body(draft_body()))
    assert quick.status_code == 201, quick.text
    assert quick.headers["location"] == f"/requests/{quick.json()['id']}"
    _same(quick, slow, ids=(quick.json()["id"], slow.json()["id"]))
    # the same Idempotency-Key replays the stored answer, byte for byte, whichever handler answers
    keyed = {**headers, "Idempotency-Key": unique_user("key")}
    first = await service.client.post("/requests", headers=keyed, content=_body(draft_body()))
    assert first.status_code == 201, first.text
    quick, slow = await _both_ways(service, "/requests", keyed, _body(draft_body()))
    assert quick.headers["idempotent-replayed"] == "true"
    _same(quick, slow)
    assert quick.json() == first.json()


async def test_bad_drafts_are_answered_as_fastapi_answers_them(service: Service) -> None:
    alice = unique_user("alice")
    good = _body(draft_body())
    key = unique_user("key")
    used = await service.client.post("/requests", headers={**auth(alice), **JSON, "Idempotency-Key": key}, content=good)
    assert used.status_code == 201, used.text
    cases: list[tuple[dict[str, str], bytes | None, int]] = [
        ({**JSON}, good, 401),  # no token
        ({"Authorization": "Bearer not-a-token", **JSON}, good, 401),
        ({"Authorization": "Basic YWxpY2U6c2VjcmV0", **JSON}, good, 401),
        ({**auth(alice, "approver"), **JSON}, good, 403),  # not a requester
        ({**auth(alice), **JSON}, b"{not json", 422),
        ({**auth(alice), **JSON}, b"\xff\xfe", 422),  # not UTF-8
        ({**auth(alice), **JSON}, b"null", 422),
        ({**auth(alice), **JSON}, b"[]", 422),
        ({**auth(alice), **JSON}, b"", 422),
        ({**auth(alice), **JSON}, _body(draft_body(currency="euro")), 422),
        ({**auth(alice), **JSON}, _body(draft_body(surprise=1)), 422),
        ({**auth(alice), **JSON}, _body(draft_body(lines=[])), 422),
        ({**auth(alice)}, good, 422),  # no content type
        ({**auth(alice), "Content-Type": "text/plain"}, good, 422),
        ({**auth(alice), **JSON, "Idempotency-Key": "a b"}, good, 422),
        ({**auth(alice), **JSON, "Idempotency-Key": "k" * 201}, good, 422),
        # the key used for another draft: refused the same way
        ({**auth(alice), **JSON, "Idempotency-Key": key}, _body(draft_body(title="Another")), 422),
        # a bad token and a bad body: the token first (a dependency), as FastAPI has it
        ({"Authorization": "Bearer not-a-token", **JSON}, _body(draft_body(currency="euro")), 401),
        # but a body that is not JSON before the token (FastAPI reads the body first)
        ({"Authorization": "Bearer not-a-token", **JSON}, b"{not json", 422),
    ]
    for headers, content, status in cases:
        quick, slow = await _both_ways(service, "/requests", headers, content)
        assert quick.status_code == status, (headers, content, quick.text)
        _same(quick, slow)


async def test_commands_on_a_draft_answer_the_same_both_ways(service: Service) -> None:
    alice, carol = unique_user("alice"), unique_user("carol")
    for command, content in (("submit", None), ("cancel", _body({"reason": "not needed"}))):
        a, b = (await service.create(alice))["id"], (await service.create(alice))["id"]
        headers = {**auth(alice), **JSON, "If-Match": '"1"'}
        quick = await service.client.post(f"/requests/{a}/{command}", headers=headers, content=content)
        slow = await _slow_post(service, f"/requests/{b}/{command}", headers, content)
        assert quick.status_code == 200, quick.text
        _same(quick, slow, ids=(a, b))
        # now in another state: the same 409 on the same request; a stale If-Match: the same 412
        for again in (headers, {**headers, "If-Match": '"99"'}):
            quick, slow = await _both_ways(service, f"/requests/{a}/{command}", again, content)
            assert quick.status_code in (409, 412), quick.text
            _same(quick, slow)
    draft = (await service.create(alice))["id"]
    reason = _body({"reason": "not needed"})
    cases: list[tuple[str, str, dict[str, str], bytes | None, int]] = [
        (draft, "submit", {}, None, 401),
        (draft, "submit", {"Authorization": "Bearer not-a-token"}, None, 401),
        (draft, "submit", auth(carol), None, 404),  # not theirs
        (MISSING, "submit", auth(alice), None, 404),
        ("not-a-uuid", "submit", auth(alice), None, 422),
        (draft + "0", "submit", auth(alice), None, 422),
        (draft, "submit", {**auth(alice), "If-Match": "x" * 101}, None, 422),
        (draft, "submit", {**auth(alice), "Idempotency-Key": "a b"}, None, 422),
        (draft, "cancel", {**auth(alice), **JSON}, b"{}", 422),
        (draft, "cancel", {**auth(alice), **JSON}, _body({"reason": 7}), 422),
        (draft, "cancel", {**auth(alice), **JSON}, b"", 422),
        (draft, "cancel", {**auth(alice), "Content-Type": "text/plain"}, reason, 422),
        (draft, "cancel", {**auth(alice), **JSON, "If-Match": '"7"'}, reason, 412),
        (draft, "cancel", {**auth(carol), **JSON}, reason, 404),
        (draft, "revise", {**auth(alice), **JSON}, _body({"comment": "x"}), 409),  # a draft is edited, not revised
        (draft, "revise", {**auth(alice), **JSON}, _body({"lines": []}), 422),
        (draft, "reassign-vendor", {**auth(alice), **JSON}, _body({"vendor_id": OTHER_VENDOR}), 409),
        (draft, "reassign-vendor", {**auth(alice), **JSON}, _body({"vendor": OTHER_VENDOR}), 422),
        (draft, "receipts", {**auth(alice), **JSON}, _body({"lines": [{"line_no": 1, "quantity": "1"}]}), 409),
        (draft, "receipts", {**auth(alice), **JSON}, _body({"lines": [{"line_no": 0, "quantity": "1"}]}), 422),
        (draft, "close", {**auth(alice), **JSON}, _body({"short": False}), 409),
        (draft, "close", {**auth(alice), **JSON}, _body({"short": "maybe"}), 422),
    ]
    for request_id, command, headers, content, status in cases:
        quick, slow = await _both_ways(service, f"/requests/{request_id}/{command}", headers, content)
        assert quick.status_code == status, (command, headers, content, quick.text)
        _same(quick, slow)
    assert (await service.read(draft, alice))["status"] == "draft"


async def test_receipt_and_closure_answer_the_same_both_ways(service: Service) -> None:
    alice = unique_user("alice")
    a, b = (await contract_executed(service, alice))["id"], (await contract_executed(service, alice))["id"]
    for command, content in (
        ("receipts", {"lines": [{"line_no": 1, "quantity": "2"}, {"line_no": 2, "quantity": "1"}], "note": "ok"}),
        ("close", {"short": False}),
    ):
        headers = {**auth(alice), **JSON, "Idempotency-Key": unique_user("key")}
        quick = await service.client.post(f"/requests/{a}/{command}", headers=headers, content=_body(content))
        other = {**headers, "Idempotency-Key": unique_user("key")}
        slow = await _slow_post(service, f"/requests/{b}/{command}", other, _body(content))
        assert quick.status_code == 200, quick.text
        _same(quick, slow, ids=(a, b))
        # the key replays its answer on its own request, and is refused on the other (another path)
        replay, replayed = await _both_ways(service, f"/requests/{a}/{command}", headers, _body(content))
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json() == quick.json()
        _same(replay, replayed)
        refused, refused_slow = await _both_ways(service, f"/requests/{b}/{command}", headers, _body(content))
        assert refused.status_code == 422, refused.text
        _same(refused, refused_slow)
    assert (await service.read(a, alice))["status"] == (await service.read(b, alice))["status"] == "closed"


async def test_the_fast_path_is_taken_for_canonical_input_only(service: Service) -> None:
    alice = unique_user("alice")
    taken: list[tuple[str, bool]] = []
    saved = dict(FAST_PATHS)

    def counting(name: str, fast: Any) -> Any:
        async def path(http: Any) -> Any:
            try:
                answer = await fast(http)
            except Exception:
                taken.append((name, False))
                raise
            taken.append((name, answer is not None))
            return answer

        return path

    for endpoint in (routes.create_request, routes.submit_request, routes.cancel_request):
        FAST_PATHS[endpoint] = counting(endpoint.__name__, FAST_PATHS[endpoint])
    try:
        created = await service.client.post("/requests", headers={**auth(alice), **JSON}, content=_body(draft_body()))
        charset = {**auth(alice), "Content-Type": "application/json; charset=utf-8"}
        other = await service.client.post("/requests", headers=charset, content=_body(draft_body()))
        rid = created.json()["id"]
        submitted = await service.client.post(f"/requests/{rid.upper()}/submit", headers=auth(alice))
        cancelled = await service.client.post(
            f"/requests/{rid}/cancel", headers={**auth(alice), **JSON}, content=_body({"reason": "no"})
        )
    finally:
        FAST_PATHS.clear()
        FAST_PATHS.update(saved)
    # a charset parameter, an upper-case id: FastAPI's handler, which accepts them as before
    assert [created.status_code, other.status_code, submitted.status_code, cancelled.status_code] == [
        201,
        201,
        200,
        200,
    ]
    assert taken == [
        ("create_request", True),
        ("create_request", False),
        ("submit_request", False),
        ("cancel_request", True),
    ]


async def _patch_both_ways(
    service: Service, path: str, headers: dict[str, str], content: bytes | None
) -> tuple[httpx.Response, httpx.Response]:
    """The same ``PATCH`` through the route (its fast path where it takes it) and through FastAPI's handler."""
    quick = await service.client.patch(path, headers=headers, content=content)
    return quick, await _slow(service, lambda: service.client.patch(path, headers=headers, content=content))


async def test_a_draft_edit_answers_the_same_both_ways(service: Service) -> None:
    alice, carol = unique_user("alice"), unique_user("carol")
    edit = _body(
        {
            "title": "New title",
            "lines": [{"description": "Desk", "quantity": "3", "unit": "pcs", "unit_price": "10.50"}],
        }
    )
    a, b = (await service.create(alice))["id"], (await service.create(alice))["id"]
    headers = {**auth(alice), **JSON, "If-Match": '"1"'}
    quick = await service.client.patch(f"/requests/{a}", headers=headers, content=edit)
    slow = await _slow(service, lambda: service.client.patch(f"/requests/{b}", headers=headers, content=edit))
    assert quick.status_code == 200, quick.text
    assert quick.json()["title"] == "New title"
    assert quick.headers["etag"] == '"2"'
    _same(quick, slow, ids=(a, b))
    # the same If-Match again: stale now, the same 412 (with the current ETag) both ways
    quick, slow = await _patch_both_ways(service, f"/requests/{a}", headers, edit)
    assert quick.status_code == 412, quick.text
    _same(quick, slow)
    # an empty edit is valid input: it still needs the current version
    current = {**auth(alice), **JSON, "If-Match": '"2"'}
    quick, slow = await _patch_both_ways(service, f"/requests/{a}", {**auth(alice), **JSON}, b"{}")
    assert quick.status_code == 428, quick.text
    _same(quick, slow)
    submitted = (await service.submitted(alice))["id"]
    cases: list[tuple[str, dict[str, str], bytes | None, int]] = [
        (a, {**auth(alice), **JSON}, edit, 428),  # no If-Match
        (a, {**JSON, "If-Match": '"2"'}, edit, 401),  # no token
        (a, {"Authorization": "Bearer not-a-token", **JSON, "If-Match": '"2"'}, edit, 401),
        (a, {"Authorization": "Basic YWxpY2U6c2VjcmV0", **JSON, "If-Match": '"2"'}, edit, 401),
        (a, {**auth(carol), **JSON, "If-Match": '"2"'}, edit, 404),  # not theirs
        (MISSING, current, edit, 404),
        ("not-a-uuid", current, edit, 422),
        (a + "0", current, edit, 422),
        (a, {**current, "If-Match": "x" * 101}, edit, 422),
        (a, {**current, "If-Match": "not-a-version"}, edit, 412),
        (a, current, b"{not json", 422),
        (a, current, b"\xff\xfe", 422),
        (a, current, b"null", 422),
        (a, current, b"[]", 422),
        (a, current, b"", 422),
        (a, current, _body({"currency": "euro"}), 422),
        (a, current, _body({"surprise": 1}), 422),
        (a, current, _body({"lines": []}), 422),
        (a, {**auth(alice), "If-Match": '"2"'}, edit, 422),  # no content type
        (a, {**auth(alice), "Content-Type": "text/plain", "If-Match": '"2"'}, edit, 422),
        # a bad token and a bad body: the token first; a body that is not JSON before the token
        (a, {"Authorization": "Bearer not-a-token", **JSON, "If-Match": '"2"'}, _body({"currency": "euro"}), 401),
        (a, {"Authorization": "Bearer not-a-token", **JSON, "If-Match": '"2"'}, b"{not json", 422),
        (submitted, {**auth(alice), **JSON, "If-Match": '"2"'}, edit, 409),  # not a draft any more
    ]
    for request_id, case_headers, content, status in cases:
        quick, slow = await _patch_both_ways(service, f"/requests/{request_id}", case_headers, content)
        assert quick.status_code == status, (request_id, case_headers, content, quick.text)
        _same(quick, slow)
    # none of the refusals changed the draft; an Idempotency-Key is not read by this route (either way)
    keyed = {**current, "Idempotency-Key": "a b"}
    quick = await service.client.patch(f"/requests/{a}", headers=keyed, content=_body({"title": "Third"}))
    assert quick.status_code == 200, quick.text
    assert (quick.json()["title"], quick.headers["etag"]) == ("Third", '"3"')
    slow = await _slow(
        service,
        lambda: service.client.patch(
            f"/requests/{b}", headers={**keyed, "If-Match": '"2"'}, content=_body({"title": "Third"})
        ),
    )
    _same(quick, slow, ids=(a, b))


async def test_the_draft_edit_takes_the_fast_path_for_canonical_input_only(service: Service) -> None:
    alice = unique_user("alice")
    taken: list[bool] = []
    fast = FAST_PATHS[routes.update_request]

    async def counting(http: Any) -> Any:
        try:
            answer = await fast(http)
        except Exception:
            taken.append(False)
            raise
        taken.append(answer is not None)
        return answer

    rid = (await service.create(alice))["id"]
    FAST_PATHS[routes.update_request] = counting
    try:
        answers = [
            await service.client.patch(
                f"/requests/{path_id}", headers={**auth(alice), **JSON, "If-Match": f'"{version}"'}, content=content
            )
            for path_id, version, content in (
                (rid, 1, _body({"title": "One"})),
                (rid.upper(), 2, _body({"title": "Two"})),  # FastAPI's handler, which accepts it as before
                (rid, 3, b"{not json"),  # FastAPI's 422
            )
        ]
    finally:
        FAST_PATHS[routes.update_request] = fast
    assert [answer.status_code for answer in answers] == [200, 200, 422]
    assert taken == [True, False, False]
    assert (await service.read(rid, alice))["title"] == "Two"
