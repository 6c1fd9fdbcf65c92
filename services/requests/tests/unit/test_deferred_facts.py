"""Facts of other services through the consumer's handlers and a fake unit of work: a fact that arrives
early is deferred and applied once the request catches up; a late or mismatched one is ignored."""

from __future__ import annotations

import uuid

import pytest
from requests_fakes import FakeStore
from requests_flow import (
    ALICE,
    OTHER_VENDOR,
    VENDOR,
    accepted,
    approved,
    deliver,
    drafted,
    fact,
    generated,
    new_store,
    notified,
    submitted,
)

from backoffice_common.consumer import PermanentEventError
from backoffice_common.events import new_event
from backoffice_requests.domain.lifecycle import Status


@pytest.fixture
def store() -> FakeStore:
    return new_store()


def _entry(store: FakeStore, request_id: str, type: str) -> dict[str, object]:
    [entry] = [e for e in store.timeline_of(request_id) if e["type"] == type]
    return entry


async def test_a_fact_that_arrives_early_is_deferred_then_applied_when_the_request_catches_up(
    store: FakeStore,
) -> None:
    request = await submitted(store)
    outcome, uow = await deliver(store, generated(request.id))
    assert outcome is not None
    assert outcome.startswith("deferred: waiting for an earlier event")
    assert uow.committed
    assert uow.published == []
    assert store.requests[request.id].status is Status.SUBMITTED
    assert [rid for rid, _ in store.deferred.values()] == [request.id]
    assert _entry(store, request.id, "contract.generated")["outcome"] == "deferred"

    for event in (approved(request.id), notified(request.id)):
        assert (await deliver(store, event))[0] == "applied"
    assert store.deferred, "still waiting: the vendor has not accepted yet"
    outcome, _ = await deliver(store, accepted(request.id))

    assert outcome == "applied"
    assert store.requests[request.id].status is Status.CONTRACT_PENDING
    assert store.deferred == {}
    entry = _entry(store, request.id, "contract.generated")
    assert (entry["outcome"], entry["note"], entry["status_after"]) == (
        "applied",
        "applied once the earlier event arrived",
        "contract_pending",
    )


async def test_deferred_facts_are_applied_in_the_order_they_happened(store: FakeStore) -> None:
    request = await submitted(store)
    early_contract, early_notice = generated(request.id), notified(request.id)
    await deliver(store, early_contract)
    await deliver(store, early_notice)
    assert len(store.deferred) == 2
    await deliver(store, approved(request.id))
    assert store.requests[request.id].status is Status.VENDOR_NOTIFIED
    await deliver(store, accepted(request.id))
    assert store.requests[request.id].status is Status.CONTRACT_PENDING
    assert store.deferred == {}


async def test_a_late_fact_is_ignored_and_changes_nothing(store: FakeStore) -> None:
    request = await submitted(store)
    await deliver(store, approved(request.id))
    version = store.requests[request.id].version
    outcome, _ = await deliver(store, approved(request.id))
    assert outcome == "ignored: cannot approve a request that is approved"
    assert store.requests[request.id].version == version
    assert store.deferred == {}


async def test_a_fact_about_an_older_revision_or_another_vendor_is_ignored(store: FakeStore) -> None:
    request = await submitted(store)
    outcome, _ = await deliver(store, approved(request.id, revision=7))
    assert outcome == "ignored: the event is about revision 7, the request is at revision 1"
    await deliver(store, approved(request.id))
    outcome, _ = await deliver(store, notified(request.id, vendor=OTHER_VENDOR))
    assert outcome == f"ignored: the event is about vendor {OTHER_VENDOR}, the request's vendor is {VENDOR}"
    assert store.requests[request.id].status is Status.APPROVED


async def test_an_answer_before_the_notification_implies_it(store: FakeStore) -> None:
    request = await submitted(store)
    await deliver(store, approved(request.id))
    outcome, _ = await deliver(store, accepted(request.id))
    assert outcome == "applied: implied first: notify_vendor"
    assert store.requests[request.id].status is Status.VENDOR_ACCEPTED


async def test_a_fact_about_an_unknown_request_is_ignored_and_written_nowhere(store: FakeStore) -> None:
    missing = str(uuid.uuid4())
    outcome, _ = await deliver(store, approved(missing))
    assert outcome == f"ignored: unknown request {missing}"
    assert store.timeline == []
    assert store.deferred == {}


async def test_timeline_only_events_are_recorded_with_their_note(store: FakeStore) -> None:
    request = await drafted(store, ALICE)
    outcome, _ = await deliver(
        store, fact("approval.escalated", request.id, to={"id": "boss", "name": "Bo"}, reason="slow")
    )
    assert outcome is None
    entry = _entry(store, request.id, "approval.escalated")
    assert (entry["outcome"], entry["note"]) == ("recorded", "escalated to Bo: slow")
    assert (request.id, "boss") in store.assignments


async def test_an_event_naming_no_request_is_permanent(store: FakeStore) -> None:
    event = fact("vendor.notified", "not-a-request", source="notifications", vendor_id=VENDOR)
    with pytest.raises(PermanentEventError, match="names no valid request id"):
        await deliver(store, event)


async def test_vendor_records_keep_the_newest_and_refuse_what_does_not_fit(store: FakeStore) -> None:
    def record(**data: object) -> object:
        return new_event(type="vendor.updated", service="notifications", subject="v-new", data=data)

    newer = record(vendor_id="v-new", status="blocked", updated_at="2026-05-02T00:00:00Z")
    older = record(vendor_id="v-new", status="active", updated_at="2026-05-01T00:00:00")
    await deliver(store, newer)  # type: ignore[arg-type]
    await deliver(store, older)  # type: ignore[arg-type]
    assert store.vendors["v-new"] == ("blocked", "2026-05-02T00:00:00.000000+00:00")
    for bad in (
        record(vendor_id="v-new", status="gone"),
        record(vendor_id=7, status="active"),
        record(vendor_id="v-new", status="active", updated_at="yesterday"),
    ):
        with pytest.raises(PermanentEventError, match=r"vendor\.updated"):
            await deliver(store, bad)  # type: ignore[arg-type]
