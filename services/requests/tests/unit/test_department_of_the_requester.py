"""The department of a request (it picks the department head who approves) is the requester's own."""

from __future__ import annotations

import pytest
from requests_fakes import FakeStore, FakeUnitOfWork
from requests_flow import ALICE, draft_body, new_store

from backoffice_common.auth import User
from backoffice_requests.domain.errors import InvalidRequest
from backoffice_requests.service import requests as service

ENG_ALICE = User(sub="alice", name="Alice", email="alice@example.com", roles=frozenset({"requester"}), department="ENG")


@pytest.fixture
def store() -> FakeStore:
    return new_store()


async def test_a_requester_cannot_raise_a_request_for_another_department_than_their_tokens(store: FakeStore) -> None:
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(InvalidRequest, match="own department") as refused:
            await service.create_draft(uow=uow, user=ENG_ALICE, data=draft_body(department="FIN"))
    assert refused.value.extensions == {"field": "department"}
    assert not uow.committed
    assert store.requests == {}


async def test_their_own_department_is_accepted(store: FakeStore) -> None:
    async with FakeUnitOfWork(store) as uow:
        request = await service.create_draft(uow=uow, user=ENG_ALICE, data=draft_body(department="ENG"))
    assert store.requests[request.id].content.department == "ENG"


async def test_a_token_without_a_department_leaves_the_check_to_the_directory(store: FakeStore) -> None:
    assert ALICE.department is None
    async with FakeUnitOfWork(store) as uow:
        await service.create_draft(uow=uow, user=ALICE, data=draft_body(department="FIN"))
    assert uow.committed
