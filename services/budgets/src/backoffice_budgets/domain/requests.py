"""The ledger rules, one function per request event: what it moves, and when it is ignored.

Each function takes the request's hold (a fresh one when the request is new), the budget the hold
sits in (``current``, locked by the caller) and, where a revision is priced, the budget it falls in
now (``target``), and returns the outcome stored with the consumed event. Events that do not fit
(late, repeated, about a closed request) move nothing and say why.
"""

from __future__ import annotations

from decimal import Decimal

from backoffice_budgets.domain.holds import HoldState, NoBudget, Priced, RequestHold, Snapshot
from backoffice_budgets.domain.ledger import BudgetAccount, Cause


def ignored(hold: RequestHold, cause: Cause, revision: int | None = None) -> str | None:
    """Why the event must move nothing, or None."""
    if cause.event_id in hold.applied:
        return "ignored: this event was handled already"
    if hold.is_closed:
        return "ignored: the request's money was released already"
    if revision is not None and revision < hold.revision:
        return f"ignored: revision {revision} is older than the priced revision {hold.revision}"
    return None


def _admit(hold: RequestHold, cause: Cause, revision: int | None = None) -> str | None:
    """``ignored``, and an event that may move money is remembered as handled, so that whatever it did
    (even nothing, as a receipt before any budget) it never does again."""
    if reason := ignored(hold, cause, revision):
        return reason
    hold.applied.add(cause.event_id)
    return None


def needs_pricing(hold: RequestHold, revision: int) -> bool:
    """Whether an event naming ``revision`` brings a revision the ledger has not priced yet."""
    return not hold.is_closed and revision > hold.revision


def on_submitted(
    hold: RequestHold, snapshot: Snapshot, cause: Cause, target: Priced | NoBudget, current: BudgetAccount | None
) -> str:
    if reason := _admit(hold, cause, snapshot.revision):
        return reason
    if snapshot.revision == hold.revision:
        return f"ignored: revision {snapshot.revision} is priced already"
    if hold.state is HoldState.COMMITTED:
        return "ignored: the request is approved; a new submission cannot follow"
    hold.price(snapshot, cause, target, current)
    return f"checked revision {snapshot.revision}"


def on_approved(
    hold: RequestHold,
    snapshot: Snapshot,
    cause: Cause,
    target: Priced | NoBudget | None,
    current: BudgetAccount | None,
) -> str:
    """Approval commits the reservation; an approval that overtook its submission prices it first."""
    if reason := _admit(hold, cause, snapshot.revision):
        return reason
    if hold.state is HoldState.COMMITTED:
        return "ignored: committed already"
    if snapshot.revision > hold.revision:
        if target is None:
            raise ValueError("an unpriced revision needs its target budget")
        hold.price(snapshot, cause, target, current)
        current = target.account if isinstance(target, Priced) else None
    if current is None:
        hold.state = HoldState.COMMITTED
        return "approved without a budget: nothing to commit"
    hold.commit(current, cause)
    return f"committed revision {snapshot.revision}"


def on_released(
    hold: RequestHold, cause: Cause, *, revision: int | None, reason: str, current: BudgetAccount | None
) -> str:
    """Rejected, cancelled: everything reserved or committed goes back; the hold is closed for good.

    A rejection of an older revision than the one priced is ignored (the newer one is still open);
    a cancellation ends the request whatever revision it names.
    """
    if why := _admit(hold, cause, revision if reason == "rejected" else None):
        return why
    if current is not None:
        hold.release(current, cause, reason=reason)
    hold.state = HoldState.CLOSED
    hold.revision = max(hold.revision, revision or 0)
    return f"released: {reason}"


def on_receipt(hold: RequestHold, cause: Cause, received: dict[int, Decimal], current: BudgetAccount | None) -> str:
    if why := _admit(hold, cause):
        return why
    if current is None:
        return "ignored: the request holds no money in any budget"
    spent = hold.spend(current, cause, received)
    return f"spent {spent} {current.currency}"


def on_closed(hold: RequestHold, cause: Cause, *, short: bool, current: BudgetAccount | None) -> str:
    """Closing ends the order: what the receipts did not spend goes back (all of it when closed short)."""
    return on_released(hold, cause, revision=None, reason="closed_short" if short else "closed", current=current)
