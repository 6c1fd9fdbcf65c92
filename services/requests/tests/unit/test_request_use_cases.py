"""The commands on purchase requests against a fake unit of work: what is committed and published."""

from __future__ import annotations

from decimal import Decimal

import pytest
from requests_fakes import FakeStore, FakeUnitOfWork
from requests_flow import (
    ALICE,
    BLOCKED_VENDOR,
    MALLORY,
    OTHER_VENDOR,
    PAT,
    VENDOR,
    deliver,
    draft_body,
    drafted,
    executed_contract,
    fact,
    new_store,
    submitted,
)

from backoffice_common import topics
from backoffice_common.errors import Forbidden, NotFound
from backoffice_requests.domain.errors import IllegalTransition, InvalidRequest
from backoffice_requests.domain.lifecycle import Status
from backoffice_requests.schemas import (
    CancelCreate,
    CloseCreate,
    ReceiptCreate,
    RequestRevise,
    RequestUpdate,
    VendorReassignCreate,
)
from backoffice_requests.service import requests as service
from backoffice_requests.service.errors import NotAVersion, StaleVersion, VersionRequired


@pytest.fixture
def store() -> FakeStore:
    return new_store()


async def test_a_draft_is_committed_with_its_timeline_entry_and_nothing_is_published(store: FakeStore) -> None:
    async with FakeUnitOfWork(store) as uow:
        request = await service.create_draft(uow=uow, user=ALICE, data=draft_body())
    assert uow.committed
    assert uow.published == []
    assert store.requests[request.id].status is Status.DRAFT
    assert request.number == "PR-000001"
    assert [e["type"] for e in store.timeline_of(request.id)] == ["purchase_request.drafted"]


async def test_a_draft_naming_a_blocked_vendor_is_refused_and_nothing_is_kept(store: FakeStore) -> None:
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(InvalidRequest, match=f"vendor {BLOCKED_VENDOR} is blocked") as refused:
            await service.create_draft(uow=uow, user=ALICE, data=draft_body(vendor_id=BLOCKED_VENDOR))
    assert refused.value.extensions == {"field": "vendor_id"}
    assert not uow.committed
    assert store.requests == {}


async def test_submitting_a_draft_publishes_submitted_on_the_requests_topic(store: FakeStore) -> None:
    draft = await drafted(store)
    async with FakeUnitOfWork(store) as uow:
        request = await service.submit(uow=uow, user=ALICE, request_id=draft.id, if_match=f'"{draft.version}"')
    assert uow.committed
    [(topic, event)] = uow.published
    assert (topic, event.type, event.subject) == (topics.REQUESTS, "purchase_request.submitted", draft.id)
    assert event.data["request"]["total"] == "2499.90"
    assert store.requests[draft.id].status is Status.SUBMITTED
    assert store.timeline_of(draft.id)[-1]["status_after"] == "submitted"
    assert request.events == []


async def test_submitting_someone_elses_draft_is_forbidden_and_nothing_is_committed(store: FakeStore) -> None:
    draft = await drafted(store)
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(Forbidden, match="only the requester may submit"):
            await service.submit(uow=uow, user=PAT, request_id=draft.id, if_match=None)
    assert not uow.committed
    assert uow.published == []
    assert store.requests[draft.id].status is Status.DRAFT


async def test_a_request_you_cannot_see_answers_like_a_missing_one(store: FakeStore) -> None:
    draft = await drafted(store)
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(NotFound, match=f"no purchase request {draft.id} that you can see"):
            await service.submit(uow=uow, user=MALLORY, request_id=draft.id, if_match=None)
    assert not uow.committed


async def test_an_approver_who_was_assigned_sees_the_request_but_may_not_submit_it(store: FakeStore) -> None:
    draft = await drafted(store)
    await deliver(store, fact("approval.task_assigned", draft.id, assignee={"id": "mallory"}, step=1))
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(Forbidden):
            await service.submit(uow=uow, user=MALLORY, request_id=draft.id, if_match=None)


async def test_a_stale_if_match_is_refused_with_the_current_etag(store: FakeStore) -> None:
    draft = await drafted(store)
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(StaleVersion) as stale:
            await service.submit(uow=uow, user=ALICE, request_id=draft.id, if_match='"99"')
    assert stale.value.extensions == {"current_etag": f'"{draft.version}"'}
    assert not uow.committed
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(NotAVersion, match="is not an ETag of this service"):
            await service.submit(uow=uow, user=ALICE, request_id=draft.id, if_match="yesterday")


async def test_an_edit_must_name_the_version_it_read(store: FakeStore) -> None:
    draft = await drafted(store)
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(VersionRequired):
            await service.update_draft(uow=uow, user=ALICE, request_id=draft.id, data=_update(), if_match=None)
        request = await service.update_draft(uow=uow, user=ALICE, request_id=draft.id, data=_update(), if_match="*")
    assert uow.committed
    assert request.content.title == "More laptops"
    assert store.revisions[(draft.id, 1)][0].title == "More laptops"


async def test_revising_after_changes_were_requested_publishes_revised_then_submitted(store: FakeStore) -> None:
    request = await submitted(store)
    changes = fact("purchase_request.changes_requested", request.id, request={"request_id": request.id, "revision": 1})
    await deliver(store, changes)
    async with FakeUnitOfWork(store) as uow:
        data = RequestRevise(title="Fewer laptops", comment="as asked")
        revised = await service.revise(uow=uow, user=ALICE, request_id=request.id, data=data, if_match=None)
    assert uow.published_types == ["purchase_request.revised", "purchase_request.submitted"]
    assert uow.published[0][1].data["changed_fields"] == ["title"]
    assert (revised.revision, store.requests[request.id].status) == (2, Status.SUBMITTED)
    assert store.revisions[(request.id, 2)][0].title == "Fewer laptops"


async def test_revising_a_request_that_awaits_its_approval_is_an_illegal_transition(store: FakeStore) -> None:
    request = await submitted(store)
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(IllegalTransition) as refused:
            await service.revise(uow=uow, user=ALICE, request_id=request.id, data=RequestRevise(), if_match=None)
    assert refused.value.extensions == {"current_state": "submitted", "allowed_actions": ["cancel"]}
    assert not uow.committed
    assert uow.published == []


async def test_procurement_cancels_a_request_and_the_others_are_told(store: FakeStore) -> None:
    request = await submitted(store)
    async with FakeUnitOfWork(store) as uow:
        await service.cancel(
            uow=uow, user=PAT, request_id=request.id, data=CancelCreate(reason="no budget"), if_match=None
        )
    [(topic, event)] = uow.published
    assert (topic, event.type) == (topics.REQUESTS, "purchase_request.cancelled")
    assert event.data["actor"] == {"id": "pat", "name": "Pat", "role": "procurement"}
    assert (event.data["reason"], event.data["previous_status"], event.data["vendor_id"]) == (
        "no budget",
        "submitted",
        VENDOR,
    )
    assert store.requests[request.id].status is Status.CANCELLED


async def test_an_executed_contract_can_no_longer_be_cancelled(store: FakeStore) -> None:
    request = await executed_contract(store)
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(IllegalTransition, match="cannot cancel a request that is contract executed"):
            await service.cancel(
                uow=uow, user=ALICE, request_id=request.id, data=CancelCreate(reason="late"), if_match=None
            )
    assert not uow.committed


async def test_receipts_then_closing_publish_each_step(store: FakeStore) -> None:
    request = await executed_contract(store)
    assert request.status is Status.CONTRACT_EXECUTED
    for quantity, status in (("1", Status.PARTIALLY_RECEIVED), ("1", Status.RECEIVED)):
        async with FakeUnitOfWork(store) as uow:
            receipt = ReceiptCreate.model_validate({"lines": [{"line_no": 1, "quantity": quantity}]})
            if status is Status.RECEIVED:
                receipt = ReceiptCreate.model_validate(
                    {"lines": [{"line_no": 1, "quantity": quantity}, {"line_no": 2, "quantity": "1"}]}
                )
            await service.confirm_receipt(uow=uow, user=ALICE, request_id=request.id, data=receipt, if_match=None)
        assert uow.published_types == ["purchase_request.receipt_confirmed"]
        assert store.requests[request.id].status is status
    assert store.requests[request.id].received == {1: Decimal(2), 2: Decimal(1)}
    async with FakeUnitOfWork(store) as uow:
        await service.close(uow=uow, user=ALICE, request_id=request.id, data=CloseCreate(), if_match=None)
    [(_, closed)] = uow.published
    assert (closed.type, closed.data["short_closed"]) == ("purchase_request.closed", False)
    assert store.requests[request.id].status is Status.CLOSED


async def test_a_receipt_beyond_the_order_or_naming_a_line_twice_is_refused(store: FakeStore) -> None:
    request = await executed_contract(store)
    too_much = ReceiptCreate.model_validate({"lines": [{"line_no": 2, "quantity": "2"}]})
    twice = ReceiptCreate.model_validate({"lines": [{"line_no": 1, "quantity": "1"}, {"line_no": 1, "quantity": "1"}]})
    for data, message in ((too_much, "would exceed the 1 ordered"), (twice, "line 1 is named twice")):
        async with FakeUnitOfWork(store) as uow:
            with pytest.raises(InvalidRequest, match=message) as refused:
                await service.confirm_receipt(uow=uow, user=ALICE, request_id=request.id, data=data, if_match=None)
        assert refused.value.extensions == {"field": "lines"}
        assert not uow.committed
    assert store.requests[request.id].received == {}


async def test_closing_before_everything_arrived_needs_close_short_with_a_reason(store: FakeStore) -> None:
    request = await executed_contract(store)
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(IllegalTransition) as refused:
            await service.close(uow=uow, user=ALICE, request_id=request.id, data=CloseCreate(), if_match=None)
    assert refused.value.extensions["allowed_actions"] == ["close_short", "receive"]
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(InvalidRequest, match="closing short needs a reason"):
            await service.close(uow=uow, user=PAT, request_id=request.id, data=CloseCreate(short=True), if_match=None)
    assert not uow.committed
    async with FakeUnitOfWork(store) as uow:
        data = CloseCreate(short=True, reason="vendor went bust")
        await service.close(uow=uow, user=PAT, request_id=request.id, data=data, if_match=None)
    assert uow.published_types == ["purchase_request.closed"]
    assert uow.published[0][1].data["short_closed"] is True


async def test_reassigning_after_a_decline_publishes_the_new_vendor(store: FakeStore) -> None:
    request = await submitted(store)
    await deliver(store, fact("purchase_request.approved", request.id, request_id=request.id, revision=1))
    declined = fact("vendor.declined", request.id, source="notifications", request_id=request.id, vendor_id=VENDOR)
    await deliver(store, declined)
    async with FakeUnitOfWork(store) as uow:
        data = VendorReassignCreate(vendor_id=OTHER_VENDOR, reason="declined")
        await service.reassign_vendor(uow=uow, user=ALICE, request_id=request.id, data=data, if_match=None)
    [(_, event)] = uow.published
    assert (event.type, event.data["previous_vendor_id"], event.data["request"]["vendor_id"]) == (
        "purchase_request.vendor_reassigned",
        VENDOR,
        OTHER_VENDOR,
    )
    assert store.requests[request.id].status is Status.APPROVED


def _update() -> RequestUpdate:
    return RequestUpdate(title="More laptops")
