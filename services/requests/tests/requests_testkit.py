"""Test kit of the requests service: tokens, request bodies and other services' events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

import backoffice_requests
from backoffice_common.auth import mint_token
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.testing import TopicReader, eventually, publish_events

SECRET = "requests-test-secret-" + "x" * 20
MIGRATIONS = Path(backoffice_requests.__file__).parent / "migrations"
VENDOR = "vendor-acme"
OTHER_VENDOR = "vendor-globex"
BLOCKED_VENDOR = "vendor-blocked"


def auth(sub: str, *roles: str, secret: str = SECRET, department: str = "ENG") -> dict[str, str]:
    token = mint_token(
        secret=secret, sub=sub, roles=list(roles or ["requester"]), name=sub.title(), department=department
    )
    return {"Authorization": f"Bearer {token}"}


def unique_user(name: str = "user") -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def draft_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Laptops for the new team",
        "description": "Two laptops and a dock",
        "vendor_id": VENDOR,
        "currency": "EUR",
        "cost_center": "CC-100",
        "department": "ENG",
        "category": "hardware",
        "needed_by": (date.today() + timedelta(days=30)).isoformat(),
        "lines": [
            {"description": "Laptop", "quantity": "2", "unit": "pcs", "unit_price": "1200.00", "sku": "LT-14"},
            {"description": "Dock", "quantity": "1", "unit": "pcs", "unit_price": "99.99"},
        ],
    }
    body.update(overrides)
    return body


def vendor_record(vendor_id: str, status: str = "active", *, updated_at: datetime | None = None) -> CloudEvent:
    data = {
        "schema_version": 1,
        "vendor_id": vendor_id,
        "legal_name": vendor_id.title(),
        "address": "1 Road",
        "contact_emails": [f"sales@{vendor_id}.example"],
        "language": "en",
        "status": status,
        "has_webhook": False,
        "updated_at": (updated_at or datetime.now(UTC)).isoformat(),
    }
    return new_event(type="vendor.updated", service="notifications", subject=vendor_id, data=data)


def cost_centre_record(cost_center: str, *, active: bool = True, updated_at: datetime | None = None) -> CloudEvent:
    """``cost_centre.updated`` as the budgets service publishes it on ``backoffice.cost_centres``."""
    data = {
        "schema_version": 1,
        "cost_center": cost_center,
        "name": f"Cost centre {cost_center}",
        "owner": {"id": "olga", "name": "Olga", "email": "olga@example.com"},
        "department": "ENG",
        "active": active,
        "updated_at": (updated_at or datetime.now(UTC)).isoformat(),
    }
    return new_event(type="cost_centre.updated", service="budgets", subject=cost_center, data=data)


def person(user_id: str) -> dict[str, str]:
    return {"id": user_id, "name": user_id.title(), "email": f"{user_id}@example.com"}


@dataclass
class Service:
    client: httpx.AsyncClient
    bootstrap: str
    prefix: str
    published: TopicReader
    app: Any = None

    async def emit(self, topic: str, type: str, subject: str, /, **data: Any) -> CloudEvent:
        """Put another service's event about a request on its topic."""
        service = topic.removeprefix("backoffice.")
        event = new_event(type=type, service=service, subject=subject, data={"schema_version": 1, **data})
        await publish_events(self.bootstrap, self.prefix + topic, [event])
        return event

    async def create(self, owner: str, **overrides: Any) -> dict[str, Any]:
        # The token names the draft's department: a requester raises requests for their own one only.
        token = auth(owner, department=overrides.get("department", "ENG"))
        r = await self.client.post("/requests", json=draft_body(**overrides), headers=token)
        assert r.status_code == 201, r.text
        return r.json()

    async def submitted(self, owner: str, **overrides: Any) -> dict[str, Any]:
        created = await self.create(owner, **overrides)
        r = await self.client.post(f"/requests/{created['id']}/submit", headers=auth(owner))
        assert r.status_code == 200, r.text
        return r.json()

    async def read(self, request_id: str, owner: str) -> dict[str, Any]:
        r = await self.client.get(f"/requests/{request_id}", headers=auth(owner))
        assert r.status_code == 200, r.text
        return r.json()

    async def wait_status(self, request_id: str, owner: str, status: str, timeout: float = 30) -> dict[str, Any]:
        async def reached() -> dict[str, Any] | None:
            current = await self.read(request_id, owner)
            return current if current["status"] == status else None

        result: dict[str, Any] = await eventually(reached, timeout=timeout, message=f"{request_id} never {status}")
        return result

    async def timeline(self, request_id: str, owner: str) -> list[dict[str, Any]]:
        r = await self.client.get(f"/requests/{request_id}/timeline", headers=auth(owner))
        assert r.status_code == 200, r.text
        entries: list[dict[str, Any]] = r.json()
        return entries

    async def wait_timeline(self, request_id: str, owner: str, type: str, count: int = 1) -> list[dict[str, Any]]:
        async def seen() -> list[dict[str, Any]] | None:
            entries = [e for e in await self.timeline(request_id, owner) if e["type"] == type]
            return entries if len(entries) >= count else None

        result: list[dict[str, Any]] = await eventually(seen, message=f"no {type} in the timeline of {request_id}")
        return result

    async def approve(self, request: dict[str, Any]) -> None:
        await self.emit(
            "backoffice.approvals",
            "purchase_request.approved",
            request["id"],
            request={"request_id": request["id"], "revision": request["revision"]},
            chain_id="chain-1",
            approvers=[person("bob")],
            actor={"id": "bob", "name": "Bob", "role": "approver"},
        )


async def contract_executed(service: Service, owner: str) -> dict[str, Any]:
    """A request driven through approval, vendor acceptance and contract execution."""
    request = await service.submitted(owner)
    rid = request["id"]
    await service.approve(request)
    await service.emit(
        "backoffice.notifications",
        "vendor.notified",
        rid,
        request_id=rid,
        revision=1,
        vendor_id=VENDOR,
        channel="email",
    )
    await service.emit(
        "backoffice.notifications",
        "vendor.accepted",
        rid,
        request={"request_id": rid, "revision": 1},
        vendor={"vendor_id": VENDOR},
    )
    await service.emit(
        "backoffice.contracts", "contract.generated", rid, contract_id="k", request_id=rid, revision=1, vendor_id=VENDOR
    )
    await service.emit("backoffice.contracts", "contract.executed", rid, contract_id="k", request_id=rid)
    return await service.wait_status(rid, owner, "contract_executed")


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body.get("detail") or body.get("title")
    return body
