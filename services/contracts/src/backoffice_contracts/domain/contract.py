"""The contract aggregate: who may sign when, and what happens when everyone has."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    AWAITING_SIGNATURES = "awaiting_signatures"
    PARTIALLY_SIGNED = "partially_signed"
    EXECUTED = "executed"
    EXPIRED = "expired"
    VOIDED = "voided"


OPEN_STATUSES = frozenset({Status.AWAITING_SIGNATURES, Status.PARTIALLY_SIGNED})


class Party(StrEnum):
    BUYER = "buyer"
    VENDOR = "vendor"


class SigningOrder(StrEnum):
    VENDOR_FIRST = "vendor_first"
    BUYER_FIRST = "buyer_first"
    ANY = "any"


REQUIRED_PARTIES = (Party.BUYER, Party.VENDOR)


class SignatureRefused(Exception):
    """A signature that must not be recorded; ``code`` is stable, the message is for people."""

    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StaleDocument(SignatureRefused):
    code = "document_hash_mismatch"


class NotOpenForSignature(SignatureRefused):
    code = "not_open"


class AlreadySigned(SignatureRefused):
    code = "already_signed"


class OutOfOrder(SignatureRefused):
    code = "out_of_order"


class WrongVendor(SignatureRefused):
    code = "wrong_vendor"


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
                f"{self.document_sha256}; download the current draft and sign that"
            )
        first = {SigningOrder.VENDOR_FIRST: Party.VENDOR, SigningOrder.BUYER_FIRST: Party.BUYER}.get(self.signing_order)
        if first is not None and party != first and not self.signed_by(first):
            raise OutOfOrder(f"the signing order is {self.signing_order.value}: the {first.value} signs first")

    def sign(self, signature: Signature, *, now: datetime) -> None:
        self.check_signature(party=signature.party, document_sha256=signature.document_sha256, now=now)
        self.signatures.append(signature)
        self.status = Status.PARTIALLY_SIGNED

    def execute(self) -> None:
        if not self.fully_signed:
            raise NotOpenForSignature("a contract is executed only when every party has signed")
        self.status = Status.EXECUTED

    def void(self) -> bool:
        """Void a contract that is not executed; False when there is nothing to void."""
        if not self.is_open:
            return False
        self.status = Status.VOIDED
        return True

    def expire(self, *, now: datetime) -> bool:
        if not self.is_open or now < self.expires_at:
            return False
        self.status = Status.EXPIRED
        return True
