"""Segregation of duties at the end of an order: who may confirm receipt and close (a policy)."""

from __future__ import annotations

import pytest
from requests_fakes import FakeStore, FakeUnitOfWork
from requests_flow import ALICE, PAT, deliver, executed_contract, fact, new_store

from backoffice_requests.domain.closure import ClosurePolicy, check_closer
from backoffice_requests.domain.errors import SegregationOfDuties
from backoffice_requests.domain.lifecycle import Status
from backoffice_requests.schemas import CloseCreate, ReceiptCreate
from backoffice_requests.service import requests as service

EVERYTHING = ReceiptCreate.model_validate({"lines": [{"line_no": 1, "quantity": "2"}, {"line_no": 2, "quantity": "1"}]})


@pytest.fixture
def store() -> FakeStore:
    return new_store()


def buyer_signed(request_id: str, signer: str) -> object:
    return fact(
        "contract.signed",
        request_id,
        source="contracts",
        request_id=request_id,
        contract_id="c-1",
        party="buyer",
        signer={"id": signer, "name": signer, "email": ""},
        document_sha256="ab" * 32,
    )


def test_by_default_the_requester_may_close_and_the_buyer_signer_may_not() -> None:
    check_closer(ClosurePolicy(), user_id="alice", requester_id="alice", buyer_signers={"pat"}, action="close")
    with pytest.raises(SegregationOfDuties, match="signed the order's contract for the buyer"):
        check_closer(ClosurePolicy(), user_id="pat", requester_id="alice", buyer_signers={"pat"}, action="close")


def test_a_policy_can_keep_the_requester_from_closing_and_let_the_buyer_signer_close() -> None:
    policy = ClosurePolicy(requester_may_close=False, buyer_signer_may_close=True)
    with pytest.raises(SegregationOfDuties, match="not the requester"):
        check_closer(policy, user_id="alice", requester_id="alice", buyer_signers=(), action="close")
    check_closer(policy, user_id="pat", requester_id="alice", buyer_signers={"pat"}, action="close")


async def test_whoever_signed_for_the_buyer_cannot_confirm_receipt_or_close(store: FakeStore) -> None:
    request = await executed_contract(store)
    await deliver(store, buyer_signed(request.id, PAT.sub))
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(SegregationOfDuties):
            await service.confirm_receipt(uow=uow, user=PAT, request_id=request.id, data=EVERYTHING, if_match=None)
    assert not uow.committed
    async with FakeUnitOfWork(store) as uow:
        await service.confirm_receipt(uow=uow, user=ALICE, request_id=request.id, data=EVERYTHING, if_match=None)
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(SegregationOfDuties):
            await service.close(uow=uow, user=PAT, request_id=request.id, data=CloseCreate(), if_match=None)
    assert store.requests[request.id].status is Status.RECEIVED


async def test_when_the_policy_says_so_the_requester_cannot_close_and_procurement_does(store: FakeStore) -> None:
    request = await executed_contract(store)
    await deliver(store, buyer_signed(request.id, "someone-else"))
    policy = ClosurePolicy(requester_may_close=False)
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(SegregationOfDuties):
            await service.confirm_receipt(
                uow=uow, user=ALICE, request_id=request.id, data=EVERYTHING, if_match=None, closure_policy=policy
            )
    async with FakeUnitOfWork(store) as uow:
        await service.confirm_receipt(
            uow=uow, user=PAT, request_id=request.id, data=EVERYTHING, if_match=None, closure_policy=policy
        )
    async with FakeUnitOfWork(store) as uow:
        await service.close(
            uow=uow, user=PAT, request_id=request.id, data=CloseCreate(), if_match=None, closure_policy=policy
        )
    assert store.requests[request.id].status is Status.CLOSED
