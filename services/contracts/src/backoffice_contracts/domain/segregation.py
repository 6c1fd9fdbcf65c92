"""Segregation of duties for the buyer's signature: who may not sign an order for the company.

The buyer's signer is neither the order's requester nor anyone who approved it (ARCHITECTURE.md,
Security), and nobody who created or rotated the vendor's credentials signs that vendor's contracts
for the buyer: with the vendor's secret they could have signed as the vendor too.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from backoffice_contracts.domain.errors import ApprovalNotKnown, SegregationOfDuties


@dataclass(frozen=True)
class OrderParties:
    """The people the contracts service knows took part in an order, from the events it consumed."""

    requester_id: str
    approvers: frozenset[str] | None
    """Everyone who approved any revision of the order; None while no approval has been read."""
    vendor_credential_administrators: frozenset[str] = field(default_factory=frozenset)


def check_buyer_signer(signer_id: str, parties: OrderParties) -> None:
    """Raise ``SegregationOfDuties`` when ``signer_id`` may not sign for the buyer (``ApprovalNotKnown``
    while the approval has not arrived: the rule cannot be checked, so the signature waits)."""
    if signer_id == parties.requester_id:
        raise SegregationOfDuties("the requester of an order may not sign its contract for the buyer", rule="requester")
    if parties.approvers is None:
        raise ApprovalNotKnown(
            "the approval of this order has not reached the contracts service yet; sign again in a moment"
        )
    if signer_id in parties.approvers:
        raise SegregationOfDuties("an approver of an order may not sign its contract for the buyer", rule="approver")
    if signer_id in parties.vendor_credential_administrators:
        raise SegregationOfDuties(
            "whoever created or rotated the vendor's credentials may not sign its contracts for the buyer",
            rule="vendor_credentials",
        )


def approvers_of(people: Collection[object]) -> list[str]:
    """The ids of the ``approvers`` list of ``purchase_request.approved`` (Person objects)."""
    return sorted({str(p["id"]) for p in people if isinstance(p, dict) and p.get("id")})
