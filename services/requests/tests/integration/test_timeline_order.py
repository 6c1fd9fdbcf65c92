"""The timeline's order is total and stable: by when each event happened (``occurred_at`` with its
microseconds), then by the order of recording for events of the same instant. Recording order alone was
not when they happened: the topics are not ordered among themselves, so an event is sometimes consumed
after one that happened later in the same second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from requests_testkit import Service, auth, unique_user

from backoffice_common.auth import User
from backoffice_common.db import read_connection
from backoffice_common.events import CloudEvent, new_event
from backoffice_requests.repository.reads import request_snapshot
from backoffice_requests.service import queries
from backoffice_requests.service.uow import RequestsUnitOfWork


def _event(type_: str, request_id: str, at: datetime, n: int) -> CloudEvent:
    event = new_event(type=type_, service="approvals", subject=request_id, data={"schema_version": 1, "n": n})
    return event.model_copy(update={"time": at})


async def test_entries_of_one_second_are_in_the_order_they_happened_then_recorded(service: Service) -> None:
    alice = unique_user("alice")
    request = await service.create(alice)
    rid = request["id"]
    second = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    # recorded in this order, all in the same second: the one recorded first happened last,
    # and two happened at the same instant (recorded 2 then 3)
    recorded = [
        _event("approval.reminder_due", rid, second + timedelta(microseconds=700_000), 1),
        _event("approval.reminder_due", rid, second + timedelta(microseconds=200_001), 2),
        _event("approval.reminder_due", rid, second + timedelta(microseconds=200_001), 3),
        _event("approval.reminder_due", rid, second + timedelta(microseconds=200_000), 4),
    ]
    async with service.app.state.uow_factory() as uow:
        assert isinstance(uow, RequestsUnitOfWork)
        for event in recorded:
            actor = {"id": "system", "name": "approvals", "role": "system"}
            await uow.timeline.add(
                request_id=rid, event=event, actor=actor, outcome="recorded", note="", status_after="draft"
            )
        await uow.commit()
    expected = [recorded[i].id for i in (3, 1, 2, 0)]

    def ours(entries: list[dict[str, Any]], key: str) -> list[str]:
        return [e[key] for e in entries if e[key] in {r.id for r in recorded}]

    # the drafted entry came before them all
    response = await service.client.get(f"/requests/{rid}/timeline", headers=auth(alice))
    assert response.status_code == 200, response.text
    body = response.json()
    assert ours(body, "event_id") == expected
    assert body[0]["type"] == "purchase_request.drafted"
    # the unit of work's read (a command's answer, the archive's merge) and the repository agree
    async with service.app.state.uow_factory() as uow:
        assert isinstance(uow, RequestsUnitOfWork)
        timeline = await queries.timeline_of(uow, user=User(sub=alice, roles=frozenset()), request_id=rid)
        assert ours([e.model_dump() for e in timeline.entries], "event_id") == expected
        assert ours(await uow.timeline.entries(request_id=rid), "event_id") == expected
    # and twice the same: the order is stable
    again = await service.client.get(f"/requests/{rid}/timeline", headers=auth(alice))
    assert again.json() == body
    # GET /requests/{id} reads its entries (what the request waits on) in the same order
    async with read_connection(service.app.state.engine) as conn:
        snapshot = await request_snapshot(conn, rid, alice)
    assert snapshot is not None
    assert ours(snapshot.entries, "event_id") == expected
