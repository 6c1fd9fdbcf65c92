"""Helpers of the use-case tests: people, a valid draft, and the facts other services report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from requests_fakes import FakeStore, FakeUnitOfWork

from backoffice_common.auth import User
from backoffice_common.events import CloudEvent, new_event
from backoffice_requests import consumers
from backoffice_requests.domain.model import PurchaseRequest
from backoffice_requests.schemas import LineCreate, RequestCreate
from backoffice_requests.service import requests as service

VENDOR = "v-acme"
OTHER_VENDOR = "v-globex"
BLOCKED_VENDOR = "v-shady"

ALICE = User(sub="alice", name="Alice", email="alice@example.com", roles=frozenset({"requester"}))
PAT = User(sub="pat", name="Pat", email="pat@example.com", roles=frozenset({"procurement"}))
MALLORY = User(sub="mallory", name="Mallory", email="m@example.com", roles=frozenset({"approver"}))


def new_store() -> FakeStore:
    store = FakeStore()
    store.vendors = {
        VENDOR: ("active", "2026-01-01T00:00:00.000000+00:00"),
        OTHER_VENDOR: ("active", "2026-01-01T00:00:00.000000+00:00"),
        BLOCKED_VENDOR: ("blocked", "2026-01-01T00:00:00.000000+00:00"),
    }
    return store


def draft_body(**changes: Any) -> RequestCreate:
    needed_by = (datetime.now(UTC) + timedelta(days=30)).date()
    body: dict[str, Any] = {
        "title": "Laptops",
        "vendor_id": VENDOR,
        "currency": "EUR",
        "cost_center": "CC-1",
        "department": "ENG",
        "category": "hardware",
        "needed_by": needed_by,
        "lines": [
            LineCreate(description="Laptop", quantity="2", unit="pcs", unit_price="1200.00"),  # type: ignore[arg-type]
            LineCreate(description="Dock", quantity="1", unit="pcs", unit_price="99.90"),  # type: ignore[arg-type]
        ],
        **changes,
    }
    return RequestCreate(**body)


async def drafted(store: FakeStore, user: User = ALICE, **changes: Any) -> PurchaseRequest:
    async with FakeUnitOfWork(store) as uow:
        return await service.create_draft(uow=uow, user=user, data=draft_body(**changes))


async def submitted(store: FakeStore, user: User = ALICE) -> PurchaseRequest:
    request = await drafted(store, user)
    async with FakeUnitOfWork(store) as uow:
        return await service.submit(uow=uow, user=user, request_id=request.id, if_match=None)


def fact(type: str, subject: str, /, *, source: str = "approvals", **data: Any) -> CloudEvent:
    return new_event(type=type, service=source, subject=subject, data={"schema_version": 1, **data})


async def deliver(store: FakeStore, event: CloudEvent) -> tuple[str | None, FakeUnitOfWork]:
    """What the consumer does: the handler in a unit of work, then commit."""
    async with FakeUnitOfWork(store) as uow:
        outcome = await consumers.handlers()[event.type](event, uow)
        await uow.commit()
    return outcome, uow


def approved(request_id: str, revision: int = 1) -> CloudEvent:
    return fact("purchase_request.approved", request_id, request={"request_id": request_id, "revision": revision})


def notified(request_id: str, vendor: str = VENDOR) -> CloudEvent:
    return fact("vendor.notified", request_id, source="notifications", request_id=request_id, vendor_id=vendor)


def accepted(request_id: str, vendor: str = VENDOR) -> CloudEvent:
    return fact(
        "vendor.accepted",
        request_id,
        source="notifications",
        request={"request_id": request_id, "revision": 1, "vendor_id": vendor},
        vendor={"vendor_id": vendor},
    )


def generated(request_id: str, vendor: str = VENDOR) -> CloudEvent:
    return fact("contract.generated", request_id, source="contracts", request_id=request_id, vendor_id=vendor)


def executed(request_id: str) -> CloudEvent:
    return fact("contract.executed", request_id, source="contracts", request_id=request_id)


async def executed_contract(store: FakeStore) -> PurchaseRequest:
    """A request walked to contract_executed through the facts the other services report."""
    request = await submitted(store)
    for event in (approved(request.id), notified(request.id), accepted(request.id)):
        await deliver(store, event)
    await deliver(store, generated(request.id))
    await deliver(store, executed(request.id))
    return store.requests[request.id]
