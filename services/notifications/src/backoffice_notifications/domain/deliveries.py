"""A delivery (one email or one webhook call) and what its send attempts lead to."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backoffice_notifications.domain.errors import DeliveryNotFailed
from backoffice_notifications.domain.events import DomainEvent, system_actor

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
WITHDRAWN = "withdrawn"
ERROR_LENGTH = 2000


class DeliveryError(Exception):
    """A send attempt failed: ``permanent`` ones are not retried (refused recipient, unsafe URL, 5xx SMTP)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


DEDUP_KEY_BYTES = 16


def dedup_key(*, event_id: str, channel: str, recipient: str, template: str) -> bytes:
    """One delivery per (event, recipient, template): a redelivered event cannot send twice.

    The first 16 bytes of the SHA-256 of ``event_id|sha256-hex(channel|recipient|template)`` (the text
    key stored before, which migration 0006 hashed the same way in SQL): the unique index holds 16 bytes
    a row instead of about 110 characters, and two different deliveries collide with a probability
    of about n^2 / 2^129."""
    digest = hashlib.sha256(f"{channel}|{recipient.lower()}|{template}".encode()).hexdigest()
    return hashlib.sha256(f"{event_id}|{digest}".encode()).digest()[:DEDUP_KEY_BYTES]


@dataclass
class Delivery:
    id: str
    event_id: str
    correlation_id: str | None
    request_id: str | None
    revision: int | None
    vendor_id: str | None
    channel: str
    recipient: str
    template: str
    language: str
    subject: str | None = None
    body_text: str | None = None
    body_html: str | None = None
    payload: dict[str, Any] | None = None
    notifies_vendor: bool = False
    status: str = PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    events: list[DomainEvent] = field(default_factory=list)

    @property
    def dedup_key(self) -> bytes:
        return dedup_key(event_id=self.event_id, channel=self.channel, recipient=self.recipient, template=self.template)

    @property
    def reaches_vendor(self) -> bool:
        """Whether this delivery, once sent, tells the vendor of an order revision."""
        return self.notifies_vendor and bool(self.request_id) and self.revision is not None

    def sent(self, *, now: datetime) -> None:
        self.status = SENT
        self.attempts += 1
        self.sent_at = now
        self.last_error = None

    def vendor_notified(self) -> None:
        """Recorded by the first delivery of an order revision that reached the vendor (the repository knows)."""
        data = {
            "request_id": self.request_id,
            "revision": self.revision,
            "vendor_id": self.vendor_id,
            "channel": self.channel,
            "actor": system_actor(),
        }
        self._record("vendor.notified", data, key=self.request_id)

    def attempt_failed(self, error: DeliveryError, *, max_attempts: int, retry_in: float, now: datetime) -> None:
        """Another attempt later, or failed for good (permanent error or out of attempts)."""
        self.attempts += 1
        self.last_error = str(error)[:ERROR_LENGTH]
        if not (error.permanent or self.attempts >= max_attempts):
            self.next_attempt_at = now + timedelta(seconds=retry_in)
            return
        self.status = FAILED
        data = {
            "delivery_id": self.id,
            "request_id": self.request_id,
            "channel": self.channel,
            "recipient": self.recipient,
            "template": self.template,
            "attempts": self.attempts,
            "error": self.last_error,
            "actor": system_actor(),
        }
        self._record("notification.failed", data, key=self.request_id or self.id)

    def retry(self, *, now: datetime) -> None:
        """A failed delivery gets a fresh set of attempts, due now."""
        if self.status != FAILED:
            raise DeliveryNotFailed(f"only failed deliveries can be retried; this one is {self.status}")
        self.status = PENDING
        self.attempts = 0
        self.next_attempt_at = now

    def _record(self, type_: str, data: dict[str, Any], *, key: str | None) -> None:
        event = DomainEvent(
            type=type_,
            subject=self.request_id,
            data={"schema_version": 1, **data},
            key=key,
            correlation_id=self.correlation_id,
            causation_id=self.event_id,
        )
        self.events.append(event)
