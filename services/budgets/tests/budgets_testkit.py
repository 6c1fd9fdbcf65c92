"""Test kit of the budgets service: tokens, request events as the requests and approvals services publish them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

import backoffice_budgets
from backoffice_budgets.settings import Settings
from backoffice_common.auth import mint_token
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.testing import TopicReader, publish_events

SECRET = "budgets-test-secret-" + "x" * 20
MIGRATIONS = Path(backoffice_budgets.__file__).parent / "migrations"


def auth(sub: str = "fiona", *roles: str) -> dict[str, str]:
    token = mint_token(secret=SECRET, sub=sub, roles=list(roles or ["finance"]), name=sub.title())
    return {"Authorization": f"Bearer {token}"}


FINANCE = auth("fiona", "finance")


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def snapshot(request_id: str, revision: int, total: str, *, cost_center: str, currency: str = "EUR") -> dict[str, Any]:
    return {
        "request_id": request_id,
        "number": "PR-000001",
        "revision": revision,
        "title": "Laptops",
        "description": "",
        "requester": {"id": "alice", "name": "Alice", "email": "alice@example.com", "department": "ENG"},
        "department": "ENG",
        "cost_center": cost_center,
        "category": "hardware",
        "vendor_id": "vendor-acme",
        "currency": currency,
        "lines": [
            {
                "line_no": 1,
                "description": "Laptop",
                "quantity": "2",
                "unit": "pcs",
                "unit_price": _half(total),
                "amount": total,
            }
        ],
        "total": total,
        "needed_by": "2027-01-15",
    }


def _half(total: str) -> str:
    from decimal import Decimal

    return format(Decimal(total) / 2, "f")


@dataclass
class Service:
    client: httpx.AsyncClient
    bootstrap: str
    prefix: str
    budgets: TopicReader
    cost_centres: TopicReader
    app: Any

    async def emit(self, topic: str, type: str, subject: str, /, **data: Any) -> CloudEvent:
        event = new_event(
            type=type, service=topic.removeprefix("backoffice."), subject=subject, data={"schema_version": 1, **data}
        )
        await publish_events(self.bootstrap, self.prefix + topic, [event])
        return event

    async def submitted(
        self, rid: str, revision: int, total: str, *, cost_center: str, currency: str = "EUR"
    ) -> CloudEvent:
        return await self.emit(
            "backoffice.requests",
            "purchase_request.submitted",
            rid,
            request=snapshot(rid, revision, total, cost_center=cost_center, currency=currency),
            submitted_at=datetime.now(UTC).isoformat(),
            actor={"id": "alice", "name": "Alice", "role": "requester"},
        )

    async def approved(self, rid: str, revision: int, total: str, *, cost_center: str) -> CloudEvent:
        return await self.emit(
            "backoffice.approvals",
            "purchase_request.approved",
            rid,
            request=snapshot(rid, revision, total, cost_center=cost_center),
            chain_id="chain-1",
            approvers=[{"id": "bob", "name": "Bob", "email": "bob@example.com"}],
        )

    async def cost_centre(self, cc: str, *, owner: str = "olga") -> dict[str, Any]:
        body = {
            "id": cc,
            "name": f"Cost centre {cc}",
            "owner": {"id": owner, "name": owner.title(), "email": f"{owner}@example.com"},
            "department": "ENG",
        }
        r = await self.client.post("/cost-centres", json=body, headers=FINANCE)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def budget(self, cc: str, amount: str, *, period: str | None = None, currency: str = "EUR") -> dict[str, Any]:
        period = period or datetime.now(UTC).strftime("%Y-%m")
        body = {"cost_center": cc, "period": period, "currency": currency, "amount": amount}
        r = await self.client.post("/budgets", json=body, headers=FINANCE)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def funded(self, amount: str, **kw: Any) -> tuple[str, dict[str, Any]]:
        cc = unique("CC")
        await self.cost_centre(cc)
        return cc, await self.budget(cc, amount, **kw)

    async def read(self, budget_id: str) -> dict[str, Any]:
        r = await self.client.get(f"/budgets/{budget_id}", headers=FINANCE)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def ledger(self, budget_id: str, **params: Any) -> list[dict[str, Any]]:
        r = await self.client.get(f"/budgets/{budget_id}/ledger", params={"limit": 100, **params}, headers=FINANCE)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    async def check(self, rid: str, count: int = 1) -> list[CloudEvent]:
        return await self.budgets.wait_for("budget.checked", subject=rid, count=count)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def settings_for(url: str, bootstrap: str, prefix: str, **extra: object) -> Settings:
    return Settings(
        database_url=url,
        kafka_bootstrap_servers=bootstrap,
        kafka_topic_prefix=prefix,
        outbox_poll_interval_seconds=0.5,
        consumer_retry_initial_seconds=0.05,
        consumer_max_attempts=2,
        jwt_secret=SECRET,
        environment="test",
        log_level="WARNING",
        **extra,  # type: ignore[arg-type]
    )
