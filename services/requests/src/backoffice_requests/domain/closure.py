"""Who may confirm receipt of an order and close it: a policy of segregation of duties.

Whoever signed the contract for the buyer should not also confirm that the goods arrived (the money is
then spent on their word alone), and a company may want receipt confirmed by someone other than the
requester. Both are settings (``REQUESTS_REQUESTER_MAY_CLOSE``, ``REQUESTS_BUYER_SIGNER_MAY_CLOSE``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from backoffice_requests.domain.errors import SegregationOfDuties


@dataclass(frozen=True)
class ClosurePolicy:
    requester_may_close: bool = True
    """The requester may confirm receipt and close their own order."""
    buyer_signer_may_close: bool = False
    """Whoever signed the order's contract for the buyer may confirm receipt and close it."""


def check_closer(
    policy: ClosurePolicy, *, user_id: str, requester_id: str, buyer_signers: Collection[str], action: str
) -> None:
    """Raise ``SegregationOfDuties`` when the policy does not let ``user_id`` do ``action`` (receipt, close)."""
    if user_id == requester_id and not policy.requester_may_close:
        raise SegregationOfDuties(
            f"the policy lets procurement, not the requester, {action} this order", rule="requester"
        )
    if user_id in buyer_signers and not policy.buyer_signer_may_close:
        raise SegregationOfDuties(
            f"whoever signed the order's contract for the buyer may not {action} it", rule="buyer_signer"
        )
