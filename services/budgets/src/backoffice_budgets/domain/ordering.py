"""Which event of a request may be applied now, and which must wait for the event it depends on.

A request's events come on two topics, each in order (one key, one partition): ``backoffice.requests``
(submitted, cancelled, receipt_confirmed, closed) and ``backoffice.approvals`` (approved, rejected).
Between the topics a consumer may read in any order, a replay in another than the live one. The
ledger applies a request's events in their causal order all the same, so that any interleaving of
the two topics gives the same movements in the same order:

- an approval or rejection of revision R waits until the submission of R is priced (an approval
  whose snapshot cannot be priced does not wait: its submission moves nothing either);
- a receipt, a closing, and a cancellation of an approved order (``previous_status`` after
  ``submitted``) wait until the approval is applied, once the request's submission was seen (a
  request this service never saw submitted has nothing to wait for);
- an event never overtakes an earlier held-back event of its own topic.

An event that the ledger would ignore anyway (handled already, the request closed, an older
revision) never waits. Pure: the service stores held-back events in ``pending_event`` and applies
them, in arrival order, as soon as ``next_ready`` names them, in the transaction that brought the
dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from backoffice_budgets.domain.holds import HoldState, RequestHold


class Stream(StrEnum):
    REQUESTS = "requests"
    APPROVALS = "approvals"


APPROVALS_TYPES = frozenset({"purchase_request.approved", "purchase_request.rejected"})

# The states a request is cancelled from that come after its approval (requests' lifecycle).
APPROVED_STATES = frozenset(
    {"approved", "vendor_notified", "vendor_accepted", "vendor_declined", "contract_pending", "contract_executed"}
)


@dataclass(frozen=True)
class Arrival:
    """What ordering needs of one consumed event."""

    event_id: str
    type: str
    revision: int | None = None
    after_approval: bool = False
    """The event is a fact of an approved order (receipt, closing, cancellation of an approved order)."""
    priceable: bool = True
    """For an approval: its snapshot names cost centre, currency and total."""

    @property
    def stream(self) -> Stream:
        return Stream.APPROVALS if self.type in APPROVALS_TYPES else Stream.REQUESTS


def after_approval(event_type: str, previous_status: str | None = None) -> bool:
    if event_type in ("purchase_request.receipt_confirmed", "purchase_request.closed"):
        return True
    return event_type == "purchase_request.cancelled" and previous_status in APPROVED_STATES


def _dependency(hold: RequestHold, event: Arrival) -> str | None:
    if event.event_id in hold.applied or hold.is_closed:
        return None
    if event.stream is Stream.APPROVALS:
        if event.revision is not None and event.priceable and event.revision > hold.revision:
            return f"the submission of revision {event.revision}"
        return None
    if event.after_approval and hold.revision > 0 and hold.state is not HoldState.COMMITTED:
        return "the approval"
    return None


def waits_for(hold: RequestHold, event: Arrival, pending: Sequence[Arrival]) -> str | None:
    """What ``event``, just read, must wait for (held back), or None to apply it now."""
    if event.event_id in hold.applied or hold.is_closed:
        return None
    earlier = next((p for p in pending if p.stream is event.stream), None)
    if earlier is not None:
        return f"an earlier {earlier.type} ({earlier.event_id}) of the same topic"
    return _dependency(hold, event)


def next_ready(hold: RequestHold, pending: Sequence[Arrival]) -> Arrival | None:
    """The first held-back event (in arrival order) that may be applied now: its dependency is met and
    no earlier event of its topic still waits."""
    blocked: set[Stream] = set()
    for event in pending:
        if event.stream in blocked:
            continue
        if _dependency(hold, event) is None:
            return event
        blocked.add(event.stream)
    return None
