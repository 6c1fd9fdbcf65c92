"""Facts other services report, and what each does to the request: applied, deferred or ignored.

Each service's topic is ordered per request, but the topics are not ordered among themselves:
``contract.generated`` can be read before the ``vendor.accepted`` it follows when another consumer
instance is behind on the notifications topic. A fact that does not fit the current state while the
request can still reach a state it fits is deferred; a fact about an older revision or another
vendor, or one the request is past, is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from backoffice_requests.domain.errors import EventMismatch, IllegalTransition
from backoffice_requests.domain.lifecycle import Action, may_still_apply
from backoffice_requests.domain.model import PurchaseRequest


@dataclass(frozen=True)
class Fact:
    action: Action
    check_revision: bool = False
    check_vendor: bool = False


FACTS: Mapping[str, Fact] = {
    "purchase_request.approved": Fact(Action.APPROVE, check_revision=True),
    "purchase_request.rejected": Fact(Action.REJECT, check_revision=True),
    "purchase_request.changes_requested": Fact(Action.REQUEST_CHANGES, check_revision=True),
    "vendor.notified": Fact(Action.NOTIFY_VENDOR, check_vendor=True),
    "vendor.accepted": Fact(Action.VENDOR_ACCEPT, check_vendor=True),
    "vendor.declined": Fact(Action.VENDOR_DECLINE, check_vendor=True),
    "contract.generated": Fact(Action.GENERATE_CONTRACT, check_vendor=True),
    "contract.executed": Fact(Action.EXECUTE_CONTRACT),
}
"""Event types that move the state machine."""

TIMELINE_ONLY = (
    "approval.task_assigned",
    "approval.task_decided",
    "approval.reminder_due",
    "approval.escalated",
    "approval.task_withdrawn",
    "vendor.contract_signed",
    "notification.failed",
    "contract.signed",
    "contract.expired",
    "contract.voided",
)
"""Event types that are only written to the timeline."""

Outcome = Literal["applied", "deferred", "ignored"]


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    detail: str = ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def revision_in(data: Mapping[str, Any]) -> int | None:
    """The revision a payload is about (``revision`` or ``request.revision``), None if it names none."""
    value = data.get("revision", _dict(data.get("request")).get("revision"))
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def vendor_in(data: Mapping[str, Any]) -> str | None:
    """The vendor a payload is about (``vendor_id`` or ``vendor.vendor_id``), None if it names none."""
    value = data.get("vendor_id") or _dict(data.get("vendor")).get("vendor_id")
    return str(value) if value else None


def apply_fact(request: PurchaseRequest, event_type: str, data: Mapping[str, Any]) -> Decision:
    """Apply the fact ``event_type`` reports to ``request`` if it fits; say what became of it."""
    fact = FACTS[event_type]
    try:
        path = request.apply(
            fact.action,
            revision=revision_in(data) if fact.check_revision else None,
            vendor_id=vendor_in(data) if fact.check_vendor else None,
        )
    except EventMismatch as exc:
        return Decision("ignored", str(exc))
    except IllegalTransition as exc:
        if may_still_apply(request.status, fact.action):
            return Decision("deferred", f"waiting for an earlier event: {exc}")
        return Decision("ignored", str(exc))
    if len(path) > 1:
        return Decision("applied", "implied first: " + ", ".join(step.value for step in path[:-1]))
    return Decision("applied")
