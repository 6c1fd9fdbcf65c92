"""Bad input from the issue: each gets a 4xx problem+json and leaves the stored state as it was."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from typing import Any

import pytest
from requests_testkit import BLOCKED_VENDOR, Service, assert_problem, auth, draft_body, unique_user

from backoffice_common.auth import mint_token


def line(**overrides: Any) -> dict[str, Any]:
    return {"description": "Laptop", "quantity": "1", "unit": "pcs", "unit_price": "10.00", **overrides}


BAD_DRAFTS = {
    "negative quantity": draft_body(lines=[line(quantity="-1")]),
    "zero quantity": draft_body(lines=[line(quantity="0")]),
    "price with too many decimals": draft_body(lines=[line(unit_price="10.001")]),
    "yen with decimals": draft_body(currency="JPY", lines=[line(unit_price="10.5")]),
    "unknown currency": draft_body(currency="XQQ"),
    "lowercase currency": draft_body(currency="eur"),
    "10,000 lines": draft_body(lines=[line()] * 10_000),
    "1 MB description": draft_body(description="x" * 1_000_000),
    "NUL byte in the title": draft_body(title="Laptops\x00"),
    "NUL byte in a line": draft_body(lines=[line(description="La\x00ptop")]),
    "lone surrogate in the title": draft_body(title="Laptops \ud800"),
    "needed-by in the past": draft_body(needed_by=(date.today() - timedelta(days=1)).isoformat()),
    "money as a float": draft_body(lines=[line(unit_price=10.1)]),
    "a total sent by the client": {**draft_body(), "total": "1.00"},
    "an unknown vendor": draft_body(vendor_id="vendor-nobody"),
    "a blocked vendor": draft_body(vendor_id=BLOCKED_VENDOR),
    "no lines": draft_body(lines=[]),
    "NaN price": draft_body(lines=[line(unit_price="NaN")]),
}


async def _count(service: Service, user: str) -> int:
    r = await service.client.get("/requests", params={"limit": 100}, headers=auth(user))
    assert r.status_code == 200, r.text
    return len(r.json()["items"])


@pytest.mark.parametrize("case", list(BAD_DRAFTS))
async def test_a_bad_draft_is_refused_with_a_problem_and_nothing_is_stored(service: Service, case: str) -> None:
    alice = unique_user("alice")
    # Serialised by hand: json.dumps escapes a lone surrogate, which httpx's encoder would refuse to send.
    body = json.dumps(BAD_DRAFTS[case])
    r = await service.client.post(
        "/requests", content=body, headers={**auth(alice), "Content-Type": "application/json"}
    )
    problem = assert_problem(r, 422)
    assert problem["detail"]
    assert await _count(service, alice) == 0


async def test_invalid_utf8_in_the_body_is_refused(service: Service) -> None:
    alice = unique_user("alice")
    raw = b'{"title": "Laptops \xff\xfe", "currency": "EUR"}'
    r = await service.client.post("/requests", content=raw, headers={**auth(alice), "Content-Type": "application/json"})
    assert_problem(r, r.status_code)
    assert 400 <= r.status_code < 500
    assert await _count(service, alice) == 0


async def test_a_body_above_the_size_limit_is_refused_before_parsing(service: Service) -> None:
    alice = unique_user("alice")
    r = await service.client.post("/requests", json=draft_body(description="x" * 3_000_000), headers=auth(alice))
    assert_problem(r, 413)


async def test_a_bad_patch_leaves_the_draft_as_it_was(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.create(alice)
    etag = f'"{request["version"]}"'
    for bad in (
        {"lines": [line(quantity="-2")]},
        {"title": "x\x00"},
        {"currency": "ABC"},
        {"title": None},
        {"total": "1"},
    ):
        r = await service.client.patch(
            f"/requests/{request['id']}", json=bad, headers={**auth(alice), "If-Match": etag}
        )
        assert_problem(r, 422)
    after = await service.read(request["id"], alice)
    assert (after["version"], after["title"], after["total"]) == (
        request["version"],
        request["title"],
        request["total"],
    )


async def test_someone_elses_request_is_invisible_and_untouchable(service: Service) -> None:
    alice, mallory = unique_user("alice"), unique_user("mallory")
    request = await service.create(alice)
    rid = request["id"]
    assert_problem(await service.client.get(f"/requests/{rid}", headers=auth(mallory)), 404)
    assert_problem(await service.client.get(f"/requests/{rid}/timeline", headers=auth(mallory)), 404)
    assert_problem(await service.client.post(f"/requests/{rid}/submit", headers=auth(mallory)), 404)
    assert_problem(
        await service.client.patch(
            f"/requests/{rid}", json={"title": "mine"}, headers={**auth(mallory), "If-Match": "*"}
        ),
        404,
    )
    assert_problem(
        await service.client.post(f"/requests/{rid}/cancel", json={"reason": "x"}, headers=auth(mallory)), 404
    )
    assert rid not in [x["id"] for x in (await service.client.get("/requests", headers=auth(mallory))).json()["items"]]
    assert (await service.read(rid, alice))["status"] == "draft"


async def test_a_forged_role_claim_gets_nothing(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.create(alice)
    forged = mint_token(secret="not-the-real-secret-" + "y" * 20, sub="eve", roles=["admin"])
    r = await service.client.get(f"/requests/{request['id']}", headers={"Authorization": f"Bearer {forged}"})
    assert_problem(r, 401)
    unknown_role = auth(unique_user("eve"), "superuser")
    assert_problem(await service.client.post("/requests", json=draft_body(), headers=unknown_role), 403)
    assert_problem(await service.client.get(f"/requests/{request['id']}", headers=unknown_role), 404)
    assert_problem(await service.client.get("/requests"), 401)


async def test_an_approver_cannot_act_for_the_requester(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.submitted(alice)
    assert_problem(
        await service.client.post(
            f"/requests/{request['id']}/submit", headers=auth(unique_user("proc"), "procurement")
        ),
        403,
    )
    assert (await service.read(request["id"], alice))["version"] == request["version"]


async def test_the_same_submit_twice_at_once_has_exactly_one_winner(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.create(alice)
    rid = request["id"]
    first, second = await asyncio.gather(
        service.client.post(f"/requests/{rid}/submit", headers=auth(alice)),
        service.client.post(f"/requests/{rid}/submit", headers=auth(alice)),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    loser = first if first.status_code == 409 else second
    assert assert_problem(loser, 409)["current_state"] == "submitted"
    await service.published.wait_for("purchase_request.submitted", subject=rid)
    await asyncio.sleep(1.5)
    assert len(service.published.of_type("purchase_request.submitted", subject=rid)) == 1
    timeline = await service.timeline(rid, alice)
    assert [e["type"] for e in timeline].count("purchase_request.submitted") == 1


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/requests", {"limit": "0"}),
        ("/requests", {"cursor": "garbage!"}),
        ("/requests", {"status": "nonsense"}),
        ("/requests/not-a-uuid", {}),
    ],
)
async def test_bad_query_parameters_get_a_problem(service: Service, path: str, params: dict[str, str]) -> None:
    r = await service.client.get(path, params=params, headers=auth(unique_user()))
    assert 400 <= r.status_code < 500
    assert_problem(r, r.status_code)
