"""A fake unit of work for the use-case tests: in-memory repositories, a ``committed`` flag, published events.

It is the service's own NotificationsUnitOfWork with the database taken out, so ``collect_events``
(aggregate events -> CloudEvents) is the real one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backoffice_common.events import CloudEvent
from backoffice_notifications.domain.contracts import Contract
from backoffice_notifications.domain.deliveries import PENDING, Delivery
from backoffice_notifications.domain.links import Link
from backoffice_notifications.domain.orders import Order
from backoffice_notifications.domain.vendors import Vendor
from backoffice_notifications.models import messaging
from backoffice_notifications.repository.vendors import StoredSecret
from backoffice_notifications.service.uow import NotificationsUnitOfWork


class _Repo:
    def __init__(self, track: Any) -> None:
        self.track = track


class FakeVendors(_Repo):
    def __init__(self, track: Any) -> None:
        super().__init__(track)
        self.rows: dict[str, Vendor] = {}
        self.secrets: list[dict[str, Any]] = []

    async def get(self, vendor_id: str | None, *, lock: bool = False) -> Vendor | None:
        found = self.rows.get(vendor_id or "")
        if found is not None:
            self.track(found)
        return found

    async def get_with_secrets(self, vendor_id: str, *, now: datetime) -> tuple[Vendor | None, list[str]]:
        found = await self.get(vendor_id)
        return found, (await self.active_secret_ciphertexts(vendor_id, now=now) if found else [])

    async def add(self, new: Vendor) -> None:
        self.rows[new.id] = new
        self.track(new)

    async def save(self, changed: Vendor) -> None:
        self.rows[changed.id] = changed

    async def page_ids(self, *, limit: int, offset: int) -> list[str]:
        return sorted(self.rows, key=lambda i: self.rows[i].legal_name)[offset : offset + limit]

    def _active(self, vendor_id: str, now: datetime) -> list[dict[str, Any]]:
        return [
            s
            for s in self.secrets
            if s["vendor_id"] == vendor_id and (s["expires_at"] is None or s["expires_at"] > now)
        ]

    async def count_active_secrets(self, vendor_id: str, *, now: datetime) -> int:
        return len(self._active(vendor_id, now))

    async def expire_secrets(self, vendor_id: str, *, at: datetime) -> list[str]:
        changed = self._active(vendor_id, at)
        for secret in changed:
            secret["expires_at"] = at
        return [s["id"] for s in changed]

    async def add_secret(
        self,
        *,
        secret_id: str,
        vendor_id: str,
        ciphertext: str,
        created_at: datetime,
        retrieval_expires_at: datetime | None = None,
    ) -> None:
        self.secrets.append(
            {
                "id": secret_id,
                "vendor_id": vendor_id,
                "ciphertext": ciphertext,
                "created_at": created_at,
                "expires_at": None,
                "retrieval_expires_at": retrieval_expires_at,
                "retrieved_at": None,
            }
        )

    async def secret_for_retrieval(self, secret_id: str, *, lock: bool = False) -> StoredSecret | None:
        for s in self.secrets:
            if s["id"] == secret_id:
                fields = ("id", "vendor_id", "ciphertext", "retrieval_expires_at", "retrieved_at")
                return StoredSecret(**{k: s[k] for k in fields})
        return None

    async def mark_retrieved(self, secret_id: str, *, at: datetime) -> None:
        for s in self.secrets:
            if s["id"] == secret_id:
                s["retrieved_at"] = at

    async def active_secret_ciphertexts(self, vendor_id: str, *, now: datetime) -> list[str]:
        active = sorted(self._active(vendor_id, now), key=lambda s: s["created_at"], reverse=True)
        return [s["ciphertext"] for s in active]


class FakeOrders(_Repo):
    def __init__(self, track: Any) -> None:
        super().__init__(track)
        self.rows: dict[str, Order] = {}
        self.reached: set[tuple[str, str]] = set()
        self.vendors = FakeVendors(track)  # the unit of work's (set by FakeUnitOfWork): the joined reads

    async def save_snapshot(self, snapshot: dict[str, Any], *, status: str, strictly_newer: bool = False) -> bool:
        held = self.rows.get(snapshot["request_id"])
        if held is not None and (
            held.status == "cancelled"
            or (held.revision >= snapshot["revision"] if strictly_newer else held.revision > snapshot["revision"])
        ):
            return False
        self.rows[snapshot["request_id"]] = Order(
            snapshot["request_id"], snapshot["revision"], snapshot.get("vendor_id"), status, dict(snapshot),
            held.sent_to_vendor_id if held else None,
        )  # fmt: skip
        return True

    async def upsert(self, snapshot: dict[str, Any], *, status: str) -> tuple[Order, Vendor | None] | None:
        if not await self.save_snapshot(snapshot, status=status):
            return None
        stored = self.rows[snapshot["request_id"]]
        self.track(stored)
        return stored, await self.vendors.get(stored.vendor_id)

    async def get_with_vendor(self, request_id: str, vendor_id: str | None) -> tuple[Order | None, Vendor | None]:
        return await self.get(request_id), await self.vendors.get(vendor_id)

    async def get(self, request_id: str, *, lock: bool = False) -> Order | None:
        found = self.rows.get(request_id)
        if found is not None:
            self.track(found)
        return found

    async def save(self, order: Order) -> None:
        self.rows[order.request_id] = order

    async def reached_vendor(self, *, request_id: str, vendor_id: str | None) -> bool:
        return (request_id, vendor_id or "") in self.reached


class FakeContracts(_Repo):
    def __init__(self, track: Any) -> None:
        super().__init__(track)
        self.rows: dict[str, Contract] = {}

    async def add(self, contract: Contract) -> None:
        self.rows.setdefault(contract.contract_id, contract)

    async def get(self, contract_id: str | None, *, lock: bool = False) -> Contract | None:
        found = self.rows.get(contract_id or "")
        if found is not None:
            self.track(found)
        return found

    async def save(self, contract: Contract) -> None:
        self.rows[contract.contract_id] = contract

    async def set_status(self, contract_id: str, status: str) -> str | None:
        found = self.rows.get(contract_id)
        if found is None:
            return None
        found.status = status
        return found.vendor_id


class FakeDeliveries(_Repo):
    def __init__(self, track: Any) -> None:
        super().__init__(track)
        self.rows: dict[str, Delivery] = {}
        self.vendor_notified: set[tuple[str | None, int | None]] = set()

    async def add(self, new: Delivery) -> bool:
        if any(d.dedup_key == new.dedup_key for d in self.rows.values()):
            return False
        self.rows[new.id] = new
        return True

    async def get(self, delivery_id: str, *, lock: bool = False) -> Delivery | None:
        found = self.rows.get(delivery_id)
        if found is not None:
            self.track(found)
        return found

    async def save(self, changed: Delivery) -> None:
        self.rows[changed.id] = changed

    async def withdraw_orders(self, *, request_id: str) -> None:
        for d in self.rows.values():
            if d.request_id == request_id and d.template == "purchase_order" and d.status in (PENDING, "failed"):
                d.status = "withdrawn"

    async def first_to_reach_vendor(self, sent: Delivery) -> bool:
        key = (sent.request_id, sent.revision)
        first = key not in self.vendor_notified
        self.vendor_notified.add(key)
        return first


class FakeLinks(_Repo):
    def __init__(self, track: Any) -> None:
        super().__init__(track)
        self.rows: dict[str, Link] = {}

    async def add(self, link: Link) -> None:
        self.rows[link.id] = link

    async def get(self, link_id: str, *, lock: bool = False) -> Link | None:
        return self.rows.get(link_id)

    async def save(self, link: Link) -> None:
        self.rows[link.id] = link

    async def revoke_for_vendor(self, vendor_id: str, *, at: datetime) -> int:
        hit = [
            link
            for link in self.rows.values()
            if link.vendor_id == vendor_id and link.used_at is None and link.revoked_at is None and link.expires_at > at
        ]
        for link in hit:
            link.revoked_at = at
        return len(hit)


class FakeReceivedWebhooks(_Repo):
    def __init__(self, track: Any) -> None:
        super().__init__(track)
        self.ids: set[tuple[str, str]] = set()

    async def remember(self, *, vendor_id: str, webhook_id: str) -> bool:
        if (vendor_id, webhook_id) in self.ids:
            return False
        self.ids.add((vendor_id, webhook_id))
        return True


class FakeUnitOfWork(NotificationsUnitOfWork):
    """Commits into the air: ``committed`` turns True and the events land in ``published``."""

    def __init__(self) -> None:
        super().__init__(None, tables=messaging, service="notifications")  # type: ignore[arg-type]
        self.vendors = FakeVendors(self.track)  # type: ignore[assignment]
        self.orders = FakeOrders(self.track)  # type: ignore[assignment]
        self.orders.vendors = self.vendors  # type: ignore[attr-defined]
        self.contracts = FakeContracts(self.track)  # type: ignore[assignment]
        self.deliveries = FakeDeliveries(self.track)  # type: ignore[assignment]
        self.links = FakeLinks(self.track)  # type: ignore[assignment]
        self.received_webhooks = FakeReceivedWebhooks(self.track)  # type: ignore[assignment]
        self.committed = False
        self.published: list[CloudEvent] = []

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.seen = []

    async def commit(self) -> None:
        await self.collect_events()
        self.published += self.pending_events
        self._pending = []
        self.committed = True

    def of_type(self, type_: str) -> list[CloudEvent]:
        return [e for e in self.published if e.type == type_]
