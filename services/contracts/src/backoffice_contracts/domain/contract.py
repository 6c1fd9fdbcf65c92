"""The contract aggregate: who may sign when, what happens when everyone has, and the events it records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from backoffice_contracts.domain.errors import AlreadySigned, NotOpenForSignature, OutOfOrder, StaleDocument
from backoffice_contracts.domain.signature import REQUIRED_PARTIES, Party, Signature


class Status(StrEnum):
    AWAITING_SIGNATURES = "awaiting_signatures"
    PARTIALLY_SIGNED = "partially_signed"
    EXECUTED = "executed"
    EXPIRED = "expired"
    VOIDED = "voided"


OPEN_STATUSES = frozenset({Status.AWAITING_SIGNATURES, Status.PARTIALLY_SIGNED})


class SigningOrder(StrEnum):
    VENDOR_FIRST = "vendor_first"
    BUYER_FIRST = "buyer_first"
    ANY = "any"


SYSTEM_ACTOR: Mapping[str, str] = {"id": "system", "name": "contracts", "role": "system"}
"""The actor of what the service does by itself (generation, execution, expiry, superseding)."""


@dataclass(frozen=True)
class ContractEvent:
    """Something that happened to a contract, named as on the wire; ``data`` is the payload without
    ``schema_version`` (the unit of work adds the envelope). The subject is the purchase request."""

    type: str
    request_id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Draft:
    """The rendered draft of a new contract and the data it was rendered with."""

    document: bytes
    data: dict[str, Any]


@dataclass(frozen=True)
class SealedDocument:
    """The executed PDF: the draft, a signature page, and the platform's PDF signature over both."""

    content: bytes
    sha256: str


@dataclass
class Contract:
    id: str
    request_id: str
    revision: int
    vendor_id: str
    status: Status
    signing_order: SigningOrder
    document_sha256: str
    expires_at: datetime
    signatures: list[Signature] = field(default_factory=list)
    request_number: str = ""
    requester_id: str = ""
    language: str = "en"
    template_version: int = 0
    generated_at: datetime | None = None
    closed_at: datetime | None = None
    closed_reason: str | None = None
    executed_at: datetime | None = None
    draft: Draft | None = field(default=None, repr=False)
    """Set only on a contract generated in this unit of work (the repository stores it once)."""
    sealed: SealedDocument | None = field(default=None, repr=False)
    """Set only when the contract was executed in this unit of work."""
    new_signatures: list[Signature] = field(default_factory=list, repr=False)
    events: list[ContractEvent] = field(default_factory=list, repr=False)

    @classmethod
    def generate(
        cls,
        *,
        id: str,
        request_id: str,
        revision: int,
        request_number: str,
        vendor_id: str,
        requester_id: str,
        language: str,
        template_version: int,
        signing_order: SigningOrder,
        draft: Draft,
        document_sha256: str,
        generated_at: datetime,
        expires_at: datetime,
        document_url: str,
    ) -> Contract:
        """A new contract awaiting both signatures; records ``contract.generated``."""
        contract = cls(
            id=id,
            request_id=request_id,
            revision=revision,
            vendor_id=vendor_id,
            status=Status.AWAITING_SIGNATURES,
            signing_order=signing_order,
            document_sha256=document_sha256,
            expires_at=expires_at,
            request_number=request_number,
            requester_id=requester_id,
            language=language,
            template_version=template_version,
            generated_at=generated_at,
            draft=draft,
        )
        contract._record(
            "contract.generated",
            SYSTEM_ACTOR,
            revision=revision,
            vendor_id=vendor_id,
            document_sha256=document_sha256,
            signers_required=[p.value for p in REQUIRED_PARTIES],
            signing_order=signing_order.value,
            language=language,
            expires_at=expires_at.isoformat(),
            document_url=document_url,
        )
        return contract

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def signed_by(self, party: Party) -> bool:
        return any(s.party == party for s in self.signatures)

    @property
    def fully_signed(self) -> bool:
        return all(self.signed_by(p) for p in REQUIRED_PARTIES)

    def check_signature(self, *, party: Party, document_sha256: str, now: datetime) -> None:
        """Raise ``SignatureRefused`` when ``party`` may not sign ``document_sha256`` now."""
        if not self.is_open:
            raise NotOpenForSignature(f"the contract is {self.status.value} and can no longer be signed")
        if now >= self.expires_at:
            raise NotOpenForSignature("the contract's signing period has ended")
        if self.signed_by(party):
            raise AlreadySigned(f"the {party.value} has already signed this contract")
        if document_sha256.lower() != self.document_sha256:
            raise StaleDocument(
                f"the signature is for document {document_sha256[:64]!r} but the contract's document is "
                f"{self.document_sha256}; download the current draft and sign that",
                current_document_sha256=self.document_sha256,
            )
        first = {SigningOrder.VENDOR_FIRST: Party.VENDOR, SigningOrder.BUYER_FIRST: Party.BUYER}.get(self.signing_order)
        if first is not None and party != first and not self.signed_by(first):
            raise OutOfOrder(f"the signing order is {self.signing_order.value}: the {first.value} signs first")

    def sign(self, signature: Signature, *, now: datetime) -> None:
        """Record ``signature`` (``contract.signed``) or raise ``SignatureRefused`` and change nothing."""
        self.check_signature(party=signature.party, document_sha256=signature.document_sha256, now=now)
        self.signatures.append(signature)
        self.new_signatures.append(signature)
        self.status = Status.PARTIALLY_SIGNED
        self._record(
            "contract.signed",
            signature.actor,
            party=signature.party.value,
            signer={"id": signature.signer_id, "name": signature.signer_name, "email": signature.signer_email},
            document_sha256=signature.document_sha256,
            signing_order=self.signing_order.value,
            awaiting=[p.value for p in REQUIRED_PARTIES if not self.signed_by(p)],
        )

    def execute(self, sealed: SealedDocument, *, at: datetime, document_url: str) -> None:
        """Every party has signed and ``sealed`` is the executed PDF; records ``contract.executed``."""
        if not self.fully_signed:
            raise NotOpenForSignature("a contract is executed only when every party has signed")
        self.status = Status.EXECUTED
        self.sealed = sealed
        self.executed_at = at
        self._record(
            "contract.executed",
            SYSTEM_ACTOR,
            document_sha256=self.document_sha256,
            executed_sha256=sealed.sha256,
            executed_at=at.isoformat(),
            document_url=document_url,
        )

    def void(self, *, reason: str, now: datetime, actor: Mapping[str, Any] = SYSTEM_ACTOR) -> bool:
        """Void a contract that is not executed (``contract.voided``); False when there is nothing to void."""
        if not self.is_open:
            return False
        self._close(Status.VOIDED, reason=reason, now=now)
        self._record("contract.voided", actor, reason=reason)
        return True

    def supersede(self, *, by_revision: int, now: datetime) -> bool:
        """A newer revision of the order got its own contract: this open one is voided."""
        return self.void(reason=f"superseded by the contract of revision {by_revision}", now=now)

    def expire(self, *, now: datetime) -> bool:
        """Close an open contract whose signing period ended (``contract.expired``); False otherwise."""
        if not self.is_open or now < self.expires_at:
            return False
        self._close(Status.EXPIRED, reason="signing period ended", now=now)
        self._record("contract.expired", SYSTEM_ACTOR)
        return True

    def pull_events(self) -> list[ContractEvent]:
        """The events recorded since the last pull (the unit of work publishes each once)."""
        events, self.events = self.events, []
        return events

    def _close(self, status: Status, *, reason: str, now: datetime) -> None:
        self.status = status
        self.closed_at = now
        self.closed_reason = reason

    def _record(self, type: str, actor: Mapping[str, Any], **data: Any) -> None:
        payload = {"contract_id": self.id, "request_id": self.request_id, **data, "actor": dict(actor)}
        self.events.append(ContractEvent(type=type, request_id=self.request_id, data=payload))
