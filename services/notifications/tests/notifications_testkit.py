"""Helpers shared by the notifications tests (test modules cannot import conftest)."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

import backoffice_notifications
from backoffice_common.auth import mint_token
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.testing import eventually
from backoffice_notifications.domain.webhook_signature import sign
from backoffice_notifications.settings import Settings

MIGRATIONS = Path(backoffice_notifications.__file__).parent / "migrations"
JWT_SECRET = "j" * 40


def make_settings(url: str, prefix: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": url,
        "kafka_bootstrap_servers": os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"],
        "kafka_topic_prefix": prefix,
        "outbox_poll_interval_seconds": 0.3,
        "consumer_retry_initial_seconds": 0.05,
        "jwt_secret": JWT_SECRET,
        "smtp_host": os.environ["BACKOFFICE_SMTP_HOST"],
        "smtp_port": int(os.environ["BACKOFFICE_SMTP_PORT"]),
        "secret_encryption_key": Fernet.generate_key().decode(),
        "link_signing_key": "l" * 40,
        "webhook_allow_private_targets": True,
        "delivery_backoff_initial_seconds": 0.05,
        "delivery_backoff_max_seconds": 0.2,
        "delivery_poll_interval_seconds": 0.1,
        "delivery_max_attempts": 6,
        "public_base_url": "http://testserver",
        "log_json": False,
        "log_level": "WARNING",
    }
    return Settings(**(values | overrides))


def staff() -> dict[str, str]:
    token = mint_token(secret=JWT_SECRET, sub="pat", name="Pat Procurement", roles=["procurement"])
    return {"Authorization": f"Bearer {token}"}


def requester_headers() -> dict[str, str]:
    token = mint_token(secret=JWT_SECRET, sub="alice", roles=["requester"])
    return {"Authorization": f"Bearer {token}"}


def unique_email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.test"


def snapshot(
    *, vendor_id: str, requester_email: str, revision: int = 1, request_id: str | None = None
) -> dict[str, Any]:
    rid = request_id or str(uuid.uuid4())
    price = Decimal("1200.00")
    return {
        "request_id": rid,
        "number": f"PR-{rid[:6]}",
        "revision": revision,
        "title": "Laptops for the team",
        "description": "Two laptops",
        "requester": {"id": "alice", "name": "Alice", "email": requester_email, "department": "ENG"},
        "department": "ENG",
        "cost_center": "CC-100",
        "category": "hardware",
        "vendor_id": vendor_id,
        "currency": "EUR",
        "lines": [
            {
                "line_no": 1,
                "description": "Laptop",
                "quantity": "2",
                "unit": "pcs",
                "unit_price": str(price),
                "amount": str(price * 2),
                "sku": "LT-14",
            }
        ],
        "total": str(price * 2),
        "needed_by": "2027-01-15",
    }


def approved(snap: dict[str, Any]) -> CloudEvent:
    data = {
        "schema_version": 1,
        "request": snap,
        "chain_id": str(uuid.uuid4()),
        "approvers": [{"id": "bob", "name": "Bob", "email": "bob@example.test"}],
        "actor": {"id": "bob", "name": "Bob", "role": "approver"},
    }
    return new_event(type="purchase_request.approved", service="approvals", subject=snap["request_id"], data=data)


def contract_generated(*, request_id: str, vendor_id: str, sha: str | None = None) -> CloudEvent:
    data = {
        "schema_version": 1,
        "contract_id": str(uuid.uuid4()),
        "request_id": request_id,
        "revision": 1,
        "vendor_id": vendor_id,
        "document_sha256": sha or uuid.uuid4().hex + uuid.uuid4().hex,
        "signers_required": ["buyer", "vendor"],
        "signing_order": "vendor_first",
        "language": "en",
        "expires_at": "2099-01-01T00:00:00+00:00",
        "document_url": "https://contracts.example/documents/abc?token=xyz",
        "actor": {"id": "system", "name": "contracts", "role": "system"},
    }
    return new_event(type="contract.generated", service="contracts", subject=request_id, data=data)


SECRET_RETRIEVALS = frozenset(
    {"Retrieve your new webhook signing secret", "Ihren neuen Webhook-Signaturschlüssel abrufen"}
)
SECRET_ANNOUNCEMENTS = (
    frozenset({"Your webhook signing secret was renewed", "Ihr Webhook-Signaturschlüssel wurde erneuert"})
    | SECRET_RETRIEVALS
)


async def mailbox(to: str, *, announcements: bool = False) -> list[dict[str, Any]]:
    """The mails to ``to``; without the announcement of a renewed webhook secret (``make_vendor`` makes one
    for every vendor) unless ``announcements``."""
    async with httpx.AsyncClient(timeout=30.0) as client:
        r = await client.get(f"{os.environ['BACKOFFICE_MAILBOX_URL']}/messages", params={"to": to})
        r.raise_for_status()
        messages: list[dict[str, Any]] = r.json()
        return messages if announcements else [m for m in messages if m.get("subject") not in SECRET_ANNOUNCEMENTS]


async def wait_for_mail(
    to: str, *, count: int = 1, timeout: float = 60.0, announcements: bool = False
) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        try:
            found = await mailbox(to, announcements=announcements)
        except httpx.TimeoutException:  # the shared sink is busy with everyone's mail: ask again
            return None
        return found if len(found) >= count else None

    result: list[dict[str, Any]] = await eventually(
        check, timeout=timeout, interval=0.3, message=f"no {count} mail(s) to {to}"
    )
    return result


def link_in(text: str, *, kind: str = "/vendor-links/") -> str:
    for word in text.split():
        if kind in word:
            return word.replace("http://testserver", "")
    raise AssertionError(f"no {kind} link in {text!r}")


async def secret_link(to: str, secret_id: str) -> str:
    """The one-time retrieval link of secret ``secret_id``, from the mail its vendor's first contact got."""

    async def check() -> str | None:
        try:
            found = await mailbox(to, announcements=True)
        except httpx.TimeoutException:
            return None
        texts = [m["text"] for m in found if m.get("subject") in SECRET_RETRIEVALS and secret_id in m["text"]]
        return link_in(texts[0], kind="/vendor-secrets/") if texts else None

    link: str = await eventually(check, timeout=60, interval=0.3, message=f"no secret link for {secret_id} to {to}")
    return link


async def retrieve_secret(client: httpx.AsyncClient, to: str, secret_id: str) -> str:
    """What a vendor does: follows the mailed link and reveals the secret (once)."""
    link = await secret_link(to, secret_id)
    r = await client.post(link)
    assert r.status_code == 200, r.text
    found = re.search(r"whsec_[A-Za-z0-9+/=]+", r.text)
    assert found, r.text
    return found.group(0)


def signed(
    secret: str, payload: dict[str, Any] | bytes, *, msg_id: str | None = None, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    mid = msg_id or f"msg_{uuid.uuid4().hex}"
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "content-type": "application/json",
        "webhook-id": mid,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret=secret, msg_id=mid, timestamp=ts, body=body),
    }
    return body, headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class VendorSystem:
    """A real HTTP server standing in for a vendor's system; answers with scripted status codes."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/backoffice"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> VendorSystem:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
