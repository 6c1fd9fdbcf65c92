"""Realistic event sequences of whole orders, as the four services publish them, with chosen delays."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from backoffice_common import topics
from backoffice_common.auth import mint_token
from backoffice_common.events import CloudEvent
from backoffice_common.testing import app_client, eventually, private_database
from backoffice_insights.domain.facts import Fact
from backoffice_insights.main import create_app
from backoffice_insights.settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[1] / "src" / "backoffice_insights" / "migrations"
SECRET = "insights-test-secret-of-at-least-32-characters"
T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
ALICE = {"id": "alice", "name": "Alice", "email": "alice@example.com"}
BOB = {"id": "bob", "name": "Bob", "email": "bob@example.com"}
CAROL = {"id": "carol", "name": "Carol", "email": "carol@example.com"}
DAVE = {"id": "dave", "name": "Dave", "email": "dave@example.com"}
VENDOR = "11111111-1111-4111-8111-111111111111"
SLOW_VENDOR = "22222222-2222-4222-8222-222222222222"

SOURCE_OF_TOPIC = {
    topics.REQUESTS: "requests",
    topics.APPROVALS: "approvals",
    topics.NOTIFICATIONS: "notifications",
    topics.CONTRACTS: "contracts",
    topics.VENDORS: "notifications",
}


def vendor_updated(vendor_id: str, name: str, *, at: datetime = T0) -> tuple[str, CloudEvent]:
    data = {
        "schema_version": 1,
        "vendor_id": vendor_id,
        "legal_name": name,
        "address": "",
        "contact_emails": [],
        "language": "en",
        "status": "active",
        "has_webhook": False,
        "updated_at": at.isoformat(),
    }
    event = CloudEvent(source="backoffice/notifications", type="vendor.updated", subject=vendor_id, time=at, data=data)
    return topics.VENDORS, event


@dataclass
class Order:
    """One purchase request's events; every step advances the clock by ``after``."""

    start: datetime = T0
    department: str = "ENG"
    category: str = "hardware"
    cost_center: str = "CC-100"
    vendor_id: str = VENDOR
    currency: str = "EUR"
    quantity: int = 2
    unit_price: str = "1200.00"
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    events: list[tuple[str, CloudEvent]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.now = self.start
        self.revision = 1
        self.contract_id = str(uuid.uuid4())
        self.number = f"PR-{self.request_id[:6]}"

    @property
    def total(self) -> str:
        return str(Decimal(self.unit_price) * self.quantity)

    def snapshot(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "number": self.number,
            "revision": self.revision,
            "title": f"Laptops for {self.department}",
            "description": "",
            "requester": {**ALICE, "department": self.department},
            "department": self.department,
            "cost_center": self.cost_center,
            "category": self.category,
            "vendor_id": self.vendor_id,
            "currency": self.currency,
            "lines": [
                {
                    "line_no": 1,
                    "description": "Laptop",
                    "quantity": str(self.quantity),
                    "unit": "pcs",
                    "unit_price": self.unit_price,
                    "amount": self.total,
                    "sku": "LT-14",
                }
            ],
            "total": self.total,
            "needed_by": "2027-06-30",
        }

    def _emit(self, topic: str, type: str, after: timedelta, **data: Any) -> CloudEvent:
        self.now += after
        service = SOURCE_OF_TOPIC[topic]
        payload = {"schema_version": 1, "actor": {"id": "system", "name": service, "role": "system"}, **data}
        event = CloudEvent(
            source=f"backoffice/{service}", type=type, subject=self.request_id, time=self.now, data=payload
        )
        self.events.append((topic, event))
        return event

    def submit(self, after: timedelta = timedelta(0)) -> Order:
        self._emit(
            topics.REQUESTS,
            "purchase_request.submitted",
            after,
            request=self.snapshot(),
            submitted_at=(self.now + after).isoformat(),
        )
        return self

    def assign(
        self,
        approver: dict[str, str],
        *,
        step: str = "manager",
        due_in: timedelta = timedelta(days=2),
        after: timedelta = timedelta(seconds=1),
        on_behalf_of: dict[str, str] | None = None,
    ) -> str:
        task_id = str(uuid.uuid4())
        self._emit(
            topics.APPROVALS,
            "approval.task_assigned",
            after,
            task_id=task_id,
            request_id=self.request_id,
            revision=self.revision,
            chain_id=str(uuid.uuid4()),
            step=step,
            assignee=approver,
            on_behalf_of=on_behalf_of,
            due_at=(self.now + after + due_in).isoformat(),
            request_title="Laptops",
            request_number=self.number,
        )
        return task_id

    def remind(self, task_id: str, approver: dict[str, str], after: timedelta) -> Order:
        self._emit(
            topics.APPROVALS,
            "approval.reminder_due",
            after,
            task_id=task_id,
            request_id=self.request_id,
            assignee=approver,
            due_at=self.now.isoformat(),
        )
        return self

    def escalate(
        self, task_id: str, frm: dict[str, str], to: dict[str, str], after: timedelta, *, step: str = "manager"
    ) -> str:
        new_task = str(uuid.uuid4())
        self._emit(
            topics.APPROVALS,
            "approval.escalated",
            after,
            task_id=task_id,
            new_task_id=new_task,
            request_id=self.request_id,
            **{"from": frm, "to": to},
            reason="overdue",
        )
        self._emit(
            topics.APPROVALS,
            "approval.task_assigned",
            timedelta(0),
            task_id=new_task,
            request_id=self.request_id,
            revision=self.revision,
            chain_id=str(uuid.uuid4()),
            step=step,
            assignee=to,
            on_behalf_of=None,
            due_at=(self.now + timedelta(days=1)).isoformat(),
            request_title="Laptops",
            request_number=self.number,
        )
        return new_task

    def decide(
        self, task_id: str, approver: dict[str, str], decision: str, after: timedelta, *, step: str = "manager"
    ) -> Order:
        self._emit(
            topics.APPROVALS,
            "approval.task_decided",
            after,
            task_id=task_id,
            request_id=self.request_id,
            revision=self.revision,
            step=step,
            decision=decision,
            comment="",
            decided_by=approver,
            on_behalf_of=None,
        )
        if decision == "changes_requested":
            self._emit(
                topics.APPROVALS,
                "purchase_request.changes_requested",
                timedelta(0),
                request_id=self.request_id,
                revision=self.revision,
                comment="fix it",
                decided_by=approver,
                requester=ALICE,
            )
        if decision == "rejected":
            self._emit(
                topics.APPROVALS,
                "purchase_request.rejected",
                timedelta(0),
                request_id=self.request_id,
                revision=self.revision,
                comment="no",
                decided_by=approver,
                requester=ALICE,
            )
        return self

    def revise(self, after: timedelta) -> Order:
        self.revision += 1
        self._emit(
            topics.REQUESTS,
            "purchase_request.revised",
            after,
            request_id=self.request_id,
            revision=self.revision,
            previous_revision=self.revision - 1,
            changed_fields=["lines"],
            comment="",
        )
        return self.submit()

    def approve(self, approvers: list[dict[str, str]], after: timedelta = timedelta(0)) -> Order:
        self._emit(
            topics.APPROVALS,
            "purchase_request.approved",
            after,
            request=self.snapshot(),
            chain_id=str(uuid.uuid4()),
            approvers=approvers,
        )
        self._emit(
            topics.NOTIFICATIONS,
            "vendor.notified",
            timedelta(seconds=2),
            request_id=self.request_id,
            revision=self.revision,
            vendor_id=self.vendor_id,
            channel="email",
        )
        return self

    def decline(self, after: timedelta) -> Order:
        self._emit(
            topics.NOTIFICATIONS,
            "vendor.declined",
            after,
            request_id=self.request_id,
            revision=self.revision,
            vendor_id=self.vendor_id,
            reason="out of stock",
        )
        return self

    def reassign(self, vendor_id: str, after: timedelta) -> Order:
        previous, self.vendor_id = self.vendor_id, vendor_id
        self.revision += 1
        self._emit(
            topics.REQUESTS,
            "purchase_request.vendor_reassigned",
            after,
            request=self.snapshot(),
            previous_vendor_id=previous,
            reason="",
        )
        return self

    def accept(self, after: timedelta) -> Order:
        vendor = {
            "vendor_id": self.vendor_id,
            "legal_name": "Vendor",
            "address": "",
            "contact_emails": [],
            "language": "en",
            "status": "active",
            "has_webhook": False,
            "updated_at": T0.isoformat(),
        }
        self._emit(
            topics.NOTIFICATIONS,
            "vendor.accepted",
            after,
            request=self.snapshot(),
            vendor=vendor,
            expected_delivery=None,
            note="",
        )
        self._emit(
            topics.CONTRACTS,
            "contract.generated",
            timedelta(seconds=5),
            contract_id=self.contract_id,
            request_id=self.request_id,
            revision=self.revision,
            vendor_id=self.vendor_id,
            document_sha256="0" * 64,
            signers_required=["buyer", "vendor"],
            signing_order="vendor_first",
            language="en",
            expires_at=(self.now + timedelta(days=14)).isoformat(),
            document_url="http://127.0.0.1/doc",
        )
        return self

    def sign(self, party: str, after: timedelta) -> Order:
        signer = {"id": "vendor", "name": "Vendor signer", "email": "v@example.com"} if party == "vendor" else CAROL
        self._emit(
            topics.CONTRACTS,
            "contract.signed",
            after,
            contract_id=self.contract_id,
            request_id=self.request_id,
            party=party,
            signer=signer,
            document_sha256="0" * 64,
        )
        return self

    def execute(self, after: timedelta = timedelta(seconds=3)) -> Order:
        self._emit(
            topics.CONTRACTS,
            "contract.executed",
            after,
            contract_id=self.contract_id,
            request_id=self.request_id,
            document_sha256="0" * 64,
            executed_sha256="1" * 64,
            executed_at=(self.now + after).isoformat(),
            document_url="http://127.0.0.1/exec",
        )
        return self

    def receive(self, quantity: int, after: timedelta, *, fully: bool = True) -> Order:
        self._emit(
            topics.REQUESTS,
            "purchase_request.receipt_confirmed",
            after,
            request_id=self.request_id,
            lines=[{"line_no": 1, "quantity_received": str(quantity)}],
            fully_received=fully,
            note="",
        )
        return self

    def close(self, after: timedelta) -> Order:
        self._emit(
            topics.REQUESTS, "purchase_request.closed", after, request_id=self.request_id, short_closed=False, reason=""
        )
        return self

    def cancel(self, after: timedelta) -> Order:
        self._emit(
            topics.REQUESTS,
            "purchase_request.cancelled",
            after,
            request_id=self.request_id,
            revision=self.revision,
            reason="not needed",
            previous_status="submitted",
            vendor_id=self.vendor_id,
        )
        return self

    def withdraw(self, task_id: str, approver: dict[str, str], after: timedelta = timedelta(seconds=1)) -> Order:
        self._emit(
            topics.APPROVALS,
            "approval.task_withdrawn",
            after,
            task_id=task_id,
            request_id=self.request_id,
            assignee=approver,
            reason="request cancelled",
        )
        return self

    def delivery_failed(self, after: timedelta, *, attempts: int = 5) -> Order:
        self._emit(
            topics.NOTIFICATIONS,
            "notification.failed",
            after,
            delivery_id=str(uuid.uuid4()),
            request_id=self.request_id,
            channel="webhook",
            recipient="https://vendor.example/hook",
            template="vendor_order",
            attempts=attempts,
            error="HTTP 503",
        )
        return self

    def facts(self) -> list[Fact]:
        return [Fact(e.id, e.type, e.time, self.request_id, e.data) for _, e in self.events]


def full_order(
    order: Order,
    *,
    approver: dict[str, str] = BOB,
    approval: timedelta = timedelta(hours=4),
    vendor_answer: timedelta = timedelta(hours=6),
    signing: timedelta = timedelta(hours=2),
    delivery: timedelta = timedelta(days=3),
    closing: timedelta = timedelta(hours=1),
) -> Order:
    """Submitted, approved after ``approval``, accepted after ``vendor_answer``, executed, received, closed."""
    order.submit()
    task = order.assign(approver)
    order.decide(task, approver, "approved", approval - timedelta(seconds=1))
    order.approve([approver])
    order.accept(vendor_answer - timedelta(seconds=2))
    order.sign("vendor", signing).sign("buyer", timedelta(minutes=30)).execute()
    order.receive(order.quantity, delivery).close(closing)
    return order


@dataclass
class Insights:
    client: httpx.AsyncClient
    bootstrap: str
    prefix: str
    handled: Callable[[], int]
    """Events handled by the consumer and folded."""
    consumed: Callable[[], int]
    """Events handled by the consumer (recorded as facts), folded or not yet."""
    app: FastAPI

    def topic(self, name: str) -> str:
        return self.prefix + name


def token(*roles: str, sub: str = "paula", department: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(secret=SECRET, sub=sub, roles=list(roles), department=department)}"}


PROCUREMENT = token("procurement")
ADMIN = token("admin", sub="root")


@asynccontextmanager
async def running_insights(prefix: str, *, group: str | None = None) -> AsyncIterator[Insights]:
    """A fresh database and an insights service reading the topics of ``prefix`` from the start."""
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    async with private_database(MIGRATIONS) as url:
        settings = Settings(
            database_url=url,
            kafka_bootstrap_servers=bootstrap,
            kafka_topic_prefix=prefix,
            kafka_consumer_group=group,
            consumer_retry_initial_seconds=0.05,
            consumer_max_attempts=2,
            jwt_secret=SECRET,
            environment="test",
            log_level="WARNING",
            metrics_refresh_seconds=0.5,
        )
        app = create_app(settings)
        async with app_client(app) as client:

            async def consuming() -> bool:
                return app.state.consumer is not None and app.state.consumer.health().running

            await eventually(consuming, timeout=60)

            def folded() -> int:
                """Events handled by the consumer *and* folded by the fold job."""
                return min(app.state.consumer.handled, app.state.fold_job.caught_up)

            yield Insights(client, bootstrap, prefix, folded, lambda: app.state.consumer.handled, app)
