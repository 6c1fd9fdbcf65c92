"""One purchase order's walk through the four services' public APIs (REST, the vendor webhook).

Used by the demo, the load script and the cross-service tests. It only speaks HTTP, like a
front-end app, an administrator's script or a vendor's system would; it never reads a database.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

import httpx
from standardwebhooks.webhooks import Webhook

from backoffice_common.auth import mint_token

T = TypeVar("T")


class FlowError(AssertionError):
    """A step of the flow did not happen as expected (a test failure when used from tests)."""


@dataclass(frozen=True)
class Endpoints:
    requests: str
    approvals: str
    notifications: str
    contracts: str
    mailbox: str | None = None


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str
    roles: tuple[str, ...]
    department: str = "ENG"


@dataclass
class Vendor:
    id: str
    secret: str
    legal_name: str
    emails: list[str]


@dataclass
class Cast:
    """The people of one story: a requester, their manager, the department head, procurement, an admin."""

    requester: Person
    manager: Person
    head: Person
    deputy: Person
    procurement: Person
    admin: Person
    department: str

    @classmethod
    def new(cls, tag: str | None = None) -> Cast:
        t = tag or uuid.uuid4().hex[:6]
        dept = f"D{t}".upper()

        def person(role: str, name: str, *roles: str) -> Person:
            return Person(f"{role}-{t}", f"{name} ({t})", f"{role}-{t}@example.com", roles, dept)

        return cls(
            requester=person("requester", "Rita Requester", "requester"),
            manager=person("manager", "Max Manager", "approver"),
            head=person("head", "Helga Head", "approver"),
            deputy=person("deputy", "Dora Deputy", "approver"),
            procurement=person("buyer", "Paul Procurement", "procurement"),
            admin=person("admin", "Ada Admin", "admin"),
            department=dept,
        )


RETRIED_STATUSES = (502, 503, 504)


def new_http_client() -> httpx.AsyncClient:
    """No cap on connections: after connection errors under load, httpcore's pool can keep entries
    for connections that never opened (encode/httpcore#550, #961), and with a cap of 100 they end
    up filling it: every request then waits for a free slot that never comes, with no connection
    open at all (seen in the chaos run with a few hundred flows in flight)."""
    return httpx.AsyncClient(timeout=30.0, limits=httpx.Limits(max_connections=None, max_keepalive_connections=100))


@dataclass
class Platform:
    """The platform's public APIs as one client. ``mirrors`` maps a service's URL to the URLs of its
    other instances: a call that cannot reach one instance is retried on the next, as behind a load
    balancer."""

    endpoints: Endpoints
    jwt_secret: str
    timeout: float = 60.0
    poll_interval: float = 0.25
    http: httpx.AsyncClient = field(default_factory=lambda: new_http_client())
    mirrors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    retries: Counter[str] = field(default_factory=Counter)

    async def aclose(self) -> None:
        await self.http.aclose()

    def headers(self, who: Person, **extra: str) -> dict[str, str]:
        token = mint_token(
            secret=self.jwt_secret,
            sub=who.id,
            roles=list(who.roles),
            name=who.name,
            email=who.email,
            department=who.department,
        )
        return {"Authorization": f"Bearer {token}", **extra}

    async def call(
        self, method: str, url: str, who: Person | None = None, *, expect: int | tuple[int, ...] = 200, **kwargs: Any
    ) -> httpx.Response:
        """One HTTP call. What a careful front-end retries is retried, with the same
        ``Idempotency-Key``, with backoff (at least what ``Retry-After`` asks) until the platform's
        timeout: a connection error (a service restarting) and 502/503/504 (a service that cannot
        reach its database right now). Anything else is the answer."""
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers.update(self.headers(who))
        if method == "POST" and "Idempotency-Key" not in headers:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        deadline = time.monotonic() + self.timeout
        targets = self._targets(url)
        delay = 0.2
        for attempt in itertools.count():
            target = targets[attempt % len(targets)]
            wait = delay
            try:
                response = await self.http.request(method, target, headers=headers, **kwargs)
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                self.retries["connection error"] += 1
            else:
                if response.status_code not in RETRIED_STATUSES or time.monotonic() > deadline:
                    break
                self.retries[str(response.status_code)] += 1
                wait = max(delay, _retry_after(response))
            await asyncio.sleep(min(wait, 10.0) * random.uniform(0.8, 1.2))
            delay = min(delay * 2, 5.0)
        expected = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in expected:
            raise FlowError(
                f"{method} {url} answered {response.status_code}, expected {expected}: {response.text[:500]}"
            )
        return response

    def _targets(self, url: str) -> list[str]:
        for base, others in self.mirrors.items():
            if url.startswith(base):
                return [url, *(other + url[len(base) :] for other in others)]
        return [url]

    async def eventually(self, what: str, check: Callable[[], Awaitable[T | None]], timeout: float | None = None) -> T:
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            result = await check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise FlowError(f"timed out waiting for: {what}")
            await asyncio.sleep(self.poll_interval)

    # --- set-up: directory (approvals) and vendor (notifications) -------------------------------

    async def load_directory(self, cast: Cast) -> None:
        def approver(p: Person, manager: Person | None, **extra: Any) -> dict[str, Any]:
            return {
                "id": p.id,
                "name": p.name,
                "email": p.email,
                "manager_id": manager.id if manager else None,
                "department": cast.department,
                **extra,
            }

        body = {
            "approvers": [
                approver(cast.head, None, head_of=[cast.department]),
                approver(cast.manager, cast.head),
                approver(cast.deputy, cast.head),
                approver(cast.requester, cast.manager),
            ]
        }
        await self.call("POST", f"{self.endpoints.approvals}/directory/approvers/import", cast.admin, json=body)

    async def create_vendor(
        self, cast: Cast, *, webhook_url: str | None = None, language: str = "en", name: str | None = None
    ) -> Vendor:
        tag = uuid.uuid4().hex[:8]
        legal_name = name or f"Acme Supplies {tag} GmbH"
        emails = [f"sales-{tag}@vendor.example"]
        body: dict[str, Any] = {
            "legal_name": legal_name,
            "address": "Industriestraße 5, 80331 München",
            "contact_emails": emails,
            "language": language,
        }
        if webhook_url:
            body["webhook_url"] = webhook_url
        r = await self.call("POST", f"{self.endpoints.notifications}/vendors", cast.procurement, json=body, expect=201)
        vendor_id = r.json()["id"]
        # The admin makes the vendor's secret (whoever did may not sign the vendor's contracts for the buyer)
        # but never sees it: the vendor's first contact retrieves it through a one-time link.
        s = await self.call(
            "POST", f"{self.endpoints.notifications}/vendors/{vendor_id}/secrets", cast.admin, expect=201
        )
        return Vendor(vendor_id, await self.retrieve_secret(emails[0], s.json()["id"]), legal_name, emails)

    async def retrieve_secret(self, contact: str, secret_id: str) -> str:
        """What the vendor does: finds the retrieval mail of ``secret_id`` in ``contact``'s mailbox, opens the
        link and reveals the secret (once). Needs the mail sink's API (``Endpoints.mailbox``)."""
        if not self.endpoints.mailbox:
            raise FlowError("a vendor's secret is only mailed to the vendor: the mailbox API is needed to fetch it")

        async def link() -> str | None:
            for mail in await self.mail_to(contact, announcements=True):
                if mail.get("subject") in SECRET_RETRIEVALS and secret_id in mail.get("text", ""):
                    found = re.search(r"\S+/vendor-secrets/\S+", mail["text"])
                    if found:
                        return found.group(0)
            return None

        url = await self.eventually(f"the secret retrieval mail to {contact}", link)
        r = await self.call("POST", url, None)
        found = re.search(r"whsec_[A-Za-z0-9+/=]+", r.text)
        if not found:
            raise FlowError(f"no secret on the retrieval page: {r.text[:300]}")
        return found.group(0)

    # --- the requester (requests) ---------------------------------------------------------------

    @staticmethod
    def draft(vendor: Vendor, cast: Cast, *, quantity: int = 10, unit_price: str = "1200.00") -> dict[str, Any]:
        return {
            "title": "Laptops for the new team",
            "description": "Laptops and docking stations for five new engineers",
            "vendor_id": vendor.id,
            "currency": "EUR",
            "cost_center": "CC-100",
            "department": cast.department,
            "category": "hardware",
            "needed_by": (date.today() + timedelta(days=30)).isoformat(),
            "lines": [
                {"description": 'Laptop 14"', "quantity": str(quantity), "unit": "pcs", "unit_price": unit_price},
                {"description": "Docking station", "quantity": "5", "unit": "pcs", "unit_price": "149.90"},
            ],
        }

    async def create_draft(self, cast: Cast, body: dict[str, Any]) -> dict[str, Any]:
        """Creates a draft; retries while the requests service has not yet heard of a new vendor."""

        async def attempt() -> dict[str, Any] | None:
            r = await self.call(
                "POST", f"{self.endpoints.requests}/requests", cast.requester, json=body, expect=(201, 422)
            )
            if r.status_code == 201:
                return dict(r.json())
            if "vendor" not in r.text:
                raise FlowError(f"draft refused: {r.text[:500]}")
            return None

        return await self.eventually("the requests service knows the vendor", attempt)

    async def submit(self, cast: Cast, request_id: str) -> dict[str, Any]:
        r = await self.call("POST", f"{self.endpoints.requests}/requests/{request_id}/submit", cast.requester)
        return dict(r.json())

    async def request(self, who: Person, request_id: str) -> dict[str, Any]:
        r = await self.call("GET", f"{self.endpoints.requests}/requests/{request_id}", who)
        return dict(r.json())

    async def wait_status(
        self, who: Person, request_id: str, *statuses: str, timeout: float | None = None
    ) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            current = await self.request(who, request_id)
            return current if current["status"] in statuses else None

        return await self.eventually(f"request {request_id} in {statuses}", check, timeout)

    async def timeline(self, who: Person, request_id: str) -> list[dict[str, Any]]:
        r = await self.call("GET", f"{self.endpoints.requests}/requests/{request_id}/timeline", who)
        return list(r.json())

    async def receive_everything(self, cast: Cast, request_id: str) -> None:
        current = await self.request(cast.requester, request_id)
        lines = [{"line_no": line["line_no"], "quantity": line["quantity"]} for line in current["lines"]]
        await self.call(
            "POST", f"{self.endpoints.requests}/requests/{request_id}/receipts", cast.requester, json={"lines": lines}
        )

    async def close(self, cast: Cast, request_id: str) -> dict[str, Any]:
        r = await self.call(
            "POST", f"{self.endpoints.requests}/requests/{request_id}/close", cast.requester, json={"short": False}
        )
        return dict(r.json())

    # --- approvers (approvals) ------------------------------------------------------------------

    async def task_for(self, who: Person, request_id: str, timeout: float | None = None) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            url = f"{self.endpoints.approvals}/tasks?request_id={request_id}"
            tasks = (await self.call("GET", url, who)).json()["items"]
            return next(iter(tasks), None)

        return await self.eventually(f"a task for {who.id} on {request_id}", check, timeout)

    async def decide(
        self, who: Person, task_id: str, decision: str, comment: str = "", *, expect: int | tuple[int, ...] = 200
    ) -> httpx.Response:
        body = {"decision": decision, "comment": comment or None}
        return await self.call(
            "POST", f"{self.endpoints.approvals}/tasks/{task_id}/decision", who, json=body, expect=expect
        )

    async def away(self, who: Person, delegate: Person, *, minutes: int = 60) -> None:
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        body = {
            "delegate_id": delegate.id,
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(minutes=minutes)).isoformat(),
        }
        await self.call("POST", f"{self.endpoints.approvals}/absences", who, json=body, expect=201)

    async def chain(self, who: Person, request_id: str) -> Any:
        r = await self.call("GET", f"{self.endpoints.approvals}/requests/{request_id}/chain", who)
        return r.json()

    # --- the vendor's system (notifications' signed webhook) -------------------------------------

    def signed(
        self, vendor: Vendor, payload: dict[str, Any], *, msg_id: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(payload).encode()
        webhook_id = msg_id or f"msg_{uuid.uuid4().hex}"
        now = int(time.time())
        from datetime import UTC, datetime

        signature = Webhook(vendor.secret).sign(webhook_id, datetime.fromtimestamp(now, UTC), body.decode())
        headers = {
            "content-type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(now),
            "webhook-signature": signature,
        }
        return body, headers

    async def vendor_says(
        self, vendor: Vendor, payload: dict[str, Any], *, expect: int | tuple[int, ...] = 200, msg_id: str | None = None
    ) -> httpx.Response:
        body, headers = self.signed(vendor, {"vendor_id": vendor.id, **payload}, msg_id=msg_id)
        return await self.call(
            "POST", f"{self.endpoints.notifications}/vendor-webhook", content=body, headers=headers, expect=expect
        )

    # --- contracts ------------------------------------------------------------------------------

    async def contract_for(self, who: Person, request_id: str, *, status: str | None = None) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            r = await self.call("GET", f"{self.endpoints.contracts}/contracts", who, params={"request_id": request_id})
            contracts = [c for c in r.json() if status is None or c["status"] == status]
            return contracts[-1] if contracts else None

        return await self.eventually(f"a contract for {request_id}", check)

    async def buyer_signs(self, cast: Cast, contract: dict[str, Any]) -> dict[str, Any]:
        r = await self.call(
            "POST",
            f"{self.endpoints.contracts}/contracts/{contract['id']}/signatures",
            cast.procurement,
            json={"document_sha256": contract["document_sha256"]},
            expect=201,
        )
        return dict(r.json())

    async def executed_pdf(self, cast: Cast, contract_id: str) -> bytes:
        r = await self.call("GET", f"{self.endpoints.contracts}/contracts/{contract_id}/executed.pdf", cast.procurement)
        return r.content

    async def verify(self, pdf: bytes) -> dict[str, Any]:
        r = await self.call(
            "POST",
            f"{self.endpoints.contracts}/contracts/verify",
            content=pdf,
            headers={"content-type": "application/pdf"},
        )
        return dict(r.json())

    # --- the mail sink --------------------------------------------------------------------------

    async def mail_to(self, address: str, *, announcements: bool = False) -> list[dict[str, Any]]:
        """The mails ``address`` received; without the announcements of a renewed webhook secret (every
        vendor gets one when the admin makes its secret) unless ``announcements``."""
        if not self.endpoints.mailbox:
            return []
        r = await self.http.get(f"{self.endpoints.mailbox}/messages", params={"to": address})
        r.raise_for_status()
        mails = list(r.json())
        return mails if announcements else [m for m in mails if m.get("subject") not in SECRET_ANNOUNCEMENTS]


SECRET_RETRIEVALS = frozenset(
    {"Retrieve your new webhook signing secret", "Ihren neuen Webhook-Signaturschlüssel abrufen"}
)
"""Subjects of the notifications service's ``vendor_secret_retrieval`` email (the one-time link to a new secret)."""
SECRET_ANNOUNCEMENTS = (
    frozenset({"Your webhook signing secret was renewed", "Ihr Webhook-Signaturschlüssel wurde erneuert"})
    | SECRET_RETRIEVALS
)
"""Subjects of the ``vendor_credentials_rotated`` and ``vendor_secret_retrieval`` emails, in English and German."""


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else 0.0


def decode_secret(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))
