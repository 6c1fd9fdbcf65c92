"""The cost-centre read model (``backoffice.cost_centres``) and the refusal of unknown or inactive
cost centres when ``REQUESTS_REQUIRE_KNOWN_COST_CENTRE`` is on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from requests_testkit import Service, assert_problem, auth, cost_centre_record, draft_body, person, unique_user
from sqlalchemy import select

from backoffice_common.testing import eventually, publish_events
from backoffice_requests.models import cost_centre


def code(name: str) -> str:
    return f"CC-{name}-{uuid.uuid4().hex[:6]}"


async def kept(service: Service, cost_center: str) -> Any:
    async with service.app.state.session_factory() as session:
        return (await session.execute(select(cost_centre).where(cost_centre.c.cost_center == cost_center))).first()


async def publish(service: Service, *records: Any) -> None:
    await publish_events(service.bootstrap, service.prefix + "backoffice.cost_centres", list(records))


@pytest.fixture
def checking(service: Service) -> Iterator[Service]:
    """The service with REQUESTS_REQUIRE_KNOWN_COST_CENTRE on (the session's fixture has it off)."""
    settings = service.app.state.settings
    settings.require_known_cost_centre = True
    try:
        yield service
    finally:
        settings.require_known_cost_centre = False


@pytest.fixture
async def centres(service: Service) -> dict[str, str]:
    names = {"known": code("known"), "inactive": code("old")}
    await publish(service, cost_centre_record(names["known"]), cost_centre_record(names["inactive"], active=False))

    async def both() -> bool:
        return all([await kept(service, c) for c in names.values()])

    await eventually(both, message="the cost centres never reached the read model")
    return names


async def test_the_newest_record_of_a_cost_centre_wins_whatever_the_order(service: Service) -> None:
    cc = code("order")
    now = datetime.now(UTC)
    await publish(service, cost_centre_record(cc, active=False, updated_at=now))

    async def inactive() -> bool:
        row = await kept(service, cc)
        return row is not None and row.active is False

    await eventually(inactive)
    await publish(
        service,
        cost_centre_record(cc, active=True, updated_at=now - timedelta(hours=1)),  # older: ignored
        cost_centre_record(f"{cc}-marker"),
    )
    await eventually(lambda: kept(service, f"{cc}-marker"))
    row = await kept(service, cc)
    assert row.active is False
    assert row.name == f"Cost centre {cc}"
    assert row.record["owner"]["id"] == "olga"


async def test_create_refuses_an_unknown_or_inactive_cost_centre_when_required(
    checking: Service, centres: dict[str, str]
) -> None:
    alice = unique_user("alice")
    for cc, detail in ((code("ghost"), "is not known"), (centres["inactive"], "is inactive")):
        r = await checking.client.post("/requests", json=draft_body(cost_center=cc), headers=auth(alice))
        assert_problem(r, 422)
        assert r.json()["field"] == "cost_center"
        assert detail in r.json()["detail"]
    r = await checking.client.post("/requests", json=draft_body(cost_center=centres["known"]), headers=auth(alice))
    assert r.status_code == 201, r.text


async def test_edit_submit_and_revise_check_the_cost_centre_too(checking: Service, centres: dict[str, str]) -> None:
    alice = unique_user("alice")
    created = await checking.create(alice, cost_center=centres["known"])
    rid = created["id"]
    headers = {**auth(alice), "If-Match": '"1"'}
    r = await checking.client.patch(f"/requests/{rid}", json={"cost_center": code("ghost")}, headers=headers)
    assert_problem(r, 422)
    assert r.json()["field"] == "cost_center"
    assert (await checking.read(rid, alice))["cost_center"] == centres["known"]

    # The cost centre is deactivated after the draft was written: submitting it is refused.
    await publish(checking, cost_centre_record(centres["known"], active=False))

    async def deactivated() -> bool:
        row = await kept(checking, centres["known"])
        return row is not None and row.active is False

    await eventually(deactivated)
    r = await checking.client.post(f"/requests/{rid}/submit", headers=auth(alice))
    assert_problem(r, 422)
    assert "is inactive" in r.json()["detail"]
    assert (await checking.read(rid, alice))["status"] == "draft"

    other = await checking.client.post(
        "/requests", json=draft_body(cost_center=centres["inactive"]), headers=auth(alice)
    )
    assert other.status_code == 422
    await publish(checking, cost_centre_record(centres["known"], active=True))

    async def active() -> bool:
        row = await kept(checking, centres["known"])
        return row is not None and row.active is True

    await eventually(active)
    r = await checking.client.post(f"/requests/{rid}/submit", headers=auth(alice))
    assert r.status_code == 200, r.text
    await checking.emit(
        "backoffice.approvals",
        "purchase_request.changes_requested",
        rid,
        request_id=rid,
        revision=1,
        comment="another cost centre",
        decided_by=person("bob"),
        requester=person(alice),
    )
    await checking.wait_status(rid, alice, "changes_requested")
    r = await checking.client.post(
        f"/requests/{rid}/revise", json={"cost_center": centres["inactive"], "comment": "moved"}, headers=auth(alice)
    )
    assert_problem(r, 422)
    assert r.json()["field"] == "cost_center"
    assert (await checking.read(rid, alice))["revision"] == 1


async def test_with_the_check_off_any_cost_centre_is_accepted(service: Service) -> None:
    assert service.app.state.settings.require_known_cost_centre is False
    created = await service.submitted(unique_user("alice"), cost_center=code("anything"))
    assert created["status"] == "submitted"
