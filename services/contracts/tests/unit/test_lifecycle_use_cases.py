"""Voiding on cancellation and expiry, with a fake unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts_testkit import cancelled, vendor_signed
from contracts_usecases import World

from backoffice_contracts import service
from backoffice_contracts.domain.contract import Status


async def test_cancelling_the_request_voids_its_open_contract_with_the_canceller_as_actor() -> None:
    world = World()
    generated, request = await world.generate()
    cancellation = cancelled(request, reason="budget frozen")
    outcome, uow = await world.deliver(cancellation)
    assert outcome == "voided 1"
    [event] = uow.published
    assert event.type == "contract.voided"
    assert event.causationid == cancellation.id
    assert event.correlationid == cancellation.correlationid
    assert event.data == {
        "schema_version": 1,
        "contract_id": generated.data["contract_id"],
        "request_id": request["request_id"],
        "reason": "purchase request cancelled: budget frozen",
        "actor": {"id": "alice", "name": "Alice", "role": "requester"},
    }
    contract = world.store.contracts[generated.data["contract_id"]]
    assert (contract.status, contract.closed_reason) == (Status.VOIDED, "purchase request cancelled: budget frozen")
    assert request["request_id"] in world.store.cancelled


async def test_a_cancellation_without_an_actor_voids_as_the_system() -> None:
    world = World()
    _, request = await world.generate()
    cancellation = cancelled(request, reason="")
    without_actor = cancellation.model_copy(update={"data": {**cancellation.data, "actor": "not a person"}})
    _, uow = await world.deliver(without_actor)
    [event] = uow.published
    assert event.data["reason"] == "purchase request cancelled"
    assert event.data["actor"] == {"id": "system", "name": "contracts", "role": "system"}


async def test_an_executed_contract_is_not_voided_by_a_late_cancellation() -> None:
    world = World()
    generated, request = await world.generate()
    await world.deliver(vendor_signed(generated))
    await world.sign_as_buyer(generated)
    outcome, cancel_uow = await world.deliver(cancelled(request))
    assert outcome == "voided 0"
    assert cancel_uow.published == []
    assert world.store.contracts[generated.data["contract_id"]].status == Status.EXECUTED


async def test_due_contracts_expire_once_and_others_stay_open() -> None:
    world = World()
    due, due_request = await world.generate()
    later, _ = await world.generate()
    now = datetime.now(UTC)
    world.store.contracts[due.data["contract_id"]].expires_at = now - timedelta(seconds=1)
    uow = world.uow()
    assert await service.expire_due(uow=uow, now=now) == 1
    assert uow.committed
    [event] = uow.published
    assert event.type == "contract.expired"
    assert event.subject == due_request["request_id"]
    assert event.causationid is None
    assert event.data == {
        "schema_version": 1,
        "contract_id": due.data["contract_id"],
        "request_id": due_request["request_id"],
        "actor": {"id": "system", "name": "contracts", "role": "system"},
    }
    assert world.store.contracts[due.data["contract_id"]].status == Status.EXPIRED
    assert world.store.contracts[later.data["contract_id"]].status == Status.AWAITING_SIGNATURES
    again = world.uow()
    assert await service.expire_due(uow=again, now=now) == 0
    assert again.published == []
