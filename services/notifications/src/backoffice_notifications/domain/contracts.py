"""The contract as the notifications service sees it, and the vendor's signature on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from backoffice_notifications.domain.errors import ResponseRefused
from backoffice_notifications.domain.events import DomainEvent, vendor_actor

AWAITING_SIGNATURE = "awaiting_signature"
SIGNED = "signed"


@dataclass(frozen=True)
class Signer:
    name: str
    email: str
    client_ip: str
    user_agent: str


@dataclass
class Contract:
    contract_id: str
    request_id: str
    vendor_id: str
    document_sha256: str
    document_url: str
    expires_at: datetime | None
    status: str = AWAITING_SIGNATURE
    signed_at: datetime | None = None
    events: list[DomainEvent] = field(default_factory=list)

    def sign(
        self,
        *,
        vendor_id: str,
        vendor_name: str,
        document_sha256: str,
        signer: Signer,
        channel: str,
        now: datetime,
        order_cancelled: bool,
    ) -> DomainEvent:
        """The vendor signs the document it was shown; refused for another vendor, state, period or document."""
        if self.vendor_id != vendor_id:
            raise ResponseRefused("this contract is not addressed to this vendor")
        if self.status != AWAITING_SIGNATURE:
            raise ResponseRefused(f"the contract does not wait for the vendor's signature (it is {self.status})")
        if self.expires_at is not None and now >= self.expires_at:
            raise ResponseRefused("the contract's signing period has ended")
        if document_sha256.lower() != self.document_sha256.lower():
            raise ResponseRefused("document_sha256 does not match the contract's document")
        if order_cancelled:
            raise ResponseRefused("the order was cancelled")
        self.status = SIGNED
        self.signed_at = now
        data = {
            "schema_version": 1,
            "contract_id": self.contract_id,
            "request_id": self.request_id,
            "vendor_id": vendor_id,
            "document_sha256": self.document_sha256,
            "signer_name": signer.name,
            "signer_email": signer.email,
            "signed_at": now.isoformat(),
            "client_ip": signer.client_ip,
            "user_agent": signer.user_agent[:500],
            "channel": channel,
            "actor": vendor_actor(vendor_id, vendor_name),
        }
        event = DomainEvent(type="vendor.contract_signed", subject=self.request_id, data=data)
        self.events.append(event)
        return event
