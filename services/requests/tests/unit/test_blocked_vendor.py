"""Issue #12, item 5: when a vendor is blocked, its outstanding orders are withdrawn (cancelled by the system, with
the reason on the timeline); drafts, executed contracts and other vendors' orders stay as they are."""

from __future__ import annotations

import pytest
from requests_fakes import FakeStore, FakeUnitOfWork
from requests_flow import (
    ALICE,
    OTHER_VENDOR,
    VENDOR,
    approved,
    deliver,
    drafted,
    executed_contract,
    new_store,
    notified,
)
from requests_flow import submitted as submitted_request

from backoffice_common.events import new_event
from backoffice_requests.domain.lifecycle import Status
from backoffice_requests.service import requests as service


@pytest.fixture
def store() -> FakeStore:
    return new_store()


def blocked(vendor_id: str, updated_at: str = "2026-06-01T00:00:00Z") -> object:
    data = {
        "schema_version": 1,
        "vendor_id": vendor_id,
        "legal_name": "Acme GmbH",
        "status": "blocked",
        "updated_at": updated_at,
        "actor": {"id": "pat", "name": "Pat Procurement", "role": "procurement"},
    }
    return new_event(type="vendor.updated", service="notifications", subject=vendor_id, data=data)


async def test_blocking_a_vendor_cancels_its_outstanding_orders_only(store: FakeStore) -> None:
    waiting = await submitted_request(store)
    sent = await submitted_request(store)
    for event in (approved(sent.id), notified(sent.id)):
        await deliver(store, event)
    draft = await drafted(store)
    bound = await executed_contract(store)
    other = await drafted(store, vendor_id=OTHER_VENDOR)
    async with FakeUnitOfWork(store) as uow:
        await service.submit(uow=uow, user=ALICE, request_id=other.id, if_match=None)

    _, uow = await deliver(store, blocked(VENDOR))  # type: ignore[arg-type]

    assert store.requests[waiting.id].status is Status.CANCELLED
    assert store.requests[sent.id].status is Status.CANCELLED
    assert store.requests[draft.id].status is Status.DRAFT
    assert store.requests[bound.id].status is Status.CONTRACT_EXECUTED
    assert store.requests[other.id].status is Status.SUBMITTED
    cancelled = {e.subject: e for _, e in uow.published if e.type == "purchase_request.cancelled"}
    assert set(cancelled) == {waiting.id, sent.id}
    for request_id, event in cancelled.items():
        assert event.data["cause"] == "vendor_blocked"
        assert event.data["actor"]["id"] == "system"
        assert event.data["reason"] == "withdrawn: the vendor Acme GmbH was blocked by Pat Procurement"
        assert event.data["vendor_id"] == VENDOR
        [entry] = [e for e in store.timeline_of(request_id) if e["type"] == "purchase_request.cancelled"]
        assert entry["status_after"] == "cancelled"
    assert cancelled[sent.id].data["previous_status"] == "vendor_notified"

    # The same record again (a redelivery, a replay of the compacted topic) withdraws nothing more.
    _, again = await deliver(store, blocked(VENDOR))  # type: ignore[arg-type]
    assert again.published == []
    # An older record than the one kept changes nothing either.
    _, older = await deliver(store, blocked(VENDOR, "2026-01-02T00:00:00Z"))  # type: ignore[arg-type]
    assert older.published == []
