"""Who signed, or was refused, which document hash, when and through which channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Party(StrEnum):
    BUYER = "buyer"
    VENDOR = "vendor"


REQUIRED_PARTIES = (Party.BUYER, Party.VENDOR)


@dataclass(frozen=True)
class Signature:
    party: Party
    signer_id: str
    signer_name: str
    signer_email: str
    role: str
    document_sha256: str
    signed_at: datetime
    client_ip: str | None
    user_agent: str | None
    channel: str
    event_id: str | None = None
    """The id of the event that carried a signature collected elsewhere (the vendor's)."""
    acting_for: dict[str, str] | None = None
    """The actor the signer acted as: a vendor's signer acts as the vendor (``vendor_actor``)."""

    @property
    def actor(self) -> dict[str, str]:
        if self.acting_for is not None:
            return dict(self.acting_for)
        return {"id": self.signer_id, "name": self.signer_name, "role": self.role}


def vendor_actor(vendor_id: str, legal_name: str) -> dict[str, str]:
    """A vendor as the actor of an event, the same on every topic (docs/events.md): ``vendor:<vendor id>``."""
    return {"id": f"vendor:{vendor_id}", "name": legal_name, "role": "vendor"}


@dataclass(frozen=True)
class Refusal:
    """A signature that arrived but was not recorded, kept as evidence (``reason`` is the refusal's code)."""

    contract_id: str
    party: Party
    signer_name: str
    signer_email: str
    document_sha256: str
    reason: str
    detail: str
    client_ip: str | None
    user_agent: str | None
    channel: str
    event_id: str | None
    refused_at: datetime
