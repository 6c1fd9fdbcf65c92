"""A vendor of the directory; every change is published as vendor.updated (the VendorRecord, never a secret)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backoffice_notifications.domain.errors import CannotBeNull
from backoffice_notifications.domain.events import DomainEvent

ACTIVE = "active"
REQUIRED = ("legal_name", "address", "contact_emails", "language", "status")
CHANGEABLE = (*REQUIRED, "webhook_url")


@dataclass
class Vendor:
    id: str
    legal_name: str
    address: str
    contact_emails: list[str]
    language: str
    webhook_url: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    credential_administrators: list[str] = field(default_factory=list)
    """Who created or rotated the vendor's webhook secrets: none of them may sign its contracts for the buyer."""
    events: list[DomainEvent] = field(default_factory=list)

    @classmethod
    def register(cls, *, id: str, fields: dict[str, Any], actor: dict[str, str], now: datetime) -> Vendor:
        vendor = cls(id=id, **{k: fields[k] for k in CHANGEABLE}, created_at=now, updated_at=now)
        vendor._updated(actor)
        return vendor

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    def change(self, changes: dict[str, Any], *, actor: dict[str, str], now: datetime) -> list[str]:
        """Applies ``changes``; returns the contacts the change removed. The contacts are where a new secret's
        retrieval link goes, so whoever changes them joins the credential administrators (never the
        vendor's buyer signer), like a rotator."""
        for key in REQUIRED:
            if key in changes and changes[key] is None:
                raise CannotBeNull(f"{key} cannot be null")
        before = list(self.contact_emails)
        for key, value in changes.items():
            if key in CHANGEABLE:
                setattr(self, key, value)
        removed = [c for c in before if c.lower() not in {e.lower() for e in self.contact_emails}]
        if self.contact_emails != before and actor["id"] not in self.credential_administrators:
            self.credential_administrators.append(actor["id"])
        self.updated_at = now
        self._updated(actor)
        return removed

    def credentials_rotated(self, *, actor: dict[str, str], now: datetime) -> DomainEvent:
        """A new webhook secret was made by ``actor``: they join the credential administrators, and the change
        is published (``vendor.updated``) like every other; returns that event (the announcement's cause)."""
        if actor["id"] not in self.credential_administrators:
            self.credential_administrators.append(actor["id"])
        self.updated_at = now
        self._updated(actor)
        return self.events[-1]

    def record(self) -> dict[str, Any]:
        """The VendorRecord of docs/events.md: never a secret, never the webhook URL itself."""
        return {
            "vendor_id": self.id,
            "legal_name": self.legal_name,
            "address": self.address,
            "contact_emails": list(self.contact_emails),
            "language": self.language,
            "status": self.status,
            "has_webhook": bool(self.webhook_url),
            "credential_administrators": sorted(self.credential_administrators),
            "updated_at": self.updated_at.isoformat(),
        }

    def _updated(self, actor: dict[str, str]) -> None:
        data = {"schema_version": 1, **self.record(), "actor": actor}
        self.events.append(DomainEvent(type="vendor.updated", subject=self.id, data=data))
