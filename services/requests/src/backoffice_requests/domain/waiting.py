"""Who or what an open request waits for, and since when: read from its status and its timeline.

Every open status names the party that must act next (the requester, an approver, the vendor, the
buyer's signatory, procurement, or a service), what they must do, since when, and by when if a due
date is known. A closed request (closed, cancelled, rejected) waits for nobody.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

PROCUREMENT = {"id": "procurement", "name": "Procurement", "role": "procurement"}
BUYER_SIGNATORY = {"id": "buyer_signatory", "name": "The buyer's signatory", "role": "buyer_signatory"}


@dataclass(frozen=True)
class Waiting:
    who: dict[str, str]
    what: str
    since: datetime
    due: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"who": self.who, "what": self.what, "since": self.since, "due": self.due}


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def _last(entries: Sequence[Mapping[str, Any]], *types: str) -> Mapping[str, Any] | None:
    return next((e for e in reversed(entries) if e["event_type"] in types), None)


def _person(data: Any, role: str) -> dict[str, str]:
    data = data if isinstance(data, Mapping) else {}
    return {"id": str(data.get("id", "")), "name": str(data.get("name", "")), "role": role}


def _open_task(entries: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The oldest approval task still open: assigned, and neither decided, withdrawn nor escalated."""
    closed = set()
    for e in entries:
        if e["event_type"] in ("approval.task_decided", "approval.task_withdrawn", "approval.escalated"):
            closed.add(e["data"].get("task_id"))
    return next(
        (e for e in entries if e["event_type"] == "approval.task_assigned" and e["data"].get("task_id") not in closed),
        None,
    )


def _approval(entries: Sequence[Mapping[str, Any]], since: datetime) -> Waiting:
    task = _open_task(entries)
    if task is not None:
        step = task["data"].get("step") or "approval"
        who = _person(task["data"].get("assignee"), "approver")
        return Waiting(who, f"approve or reject (step {step})", task["occurred_at"], _when(task["data"].get("due_at")))
    blocked = _last(entries, "approval.chain_blocked")
    if blocked is not None:
        return Waiting(
            PROCUREMENT, f"unblock the approval chain: {blocked['data'].get('reason', '')}", blocked["occurred_at"]
        )
    return Waiting({"id": "system", "name": "approvals", "role": "system"}, "route the request to its approvers", since)


def _vendor(vendor_id: str) -> dict[str, str]:
    return {"id": f"vendor:{vendor_id}", "name": "", "role": "vendor"}


def _delivery(entries: Sequence[Mapping[str, Any]], after: datetime) -> Waiting | None:
    failed = _last(entries, "notification.failed")
    if failed is None or failed["occurred_at"] < after:
        return None
    data = failed["data"]
    what = f"the {data.get('template', 'message')} to {data.get('recipient', '?')} failed: {data.get('error', '')}"
    return Waiting(PROCUREMENT, what + "; correct it and retry the delivery", failed["occurred_at"])


def _signing(entries: Sequence[Mapping[str, Any]], vendor_id: str, since: datetime) -> Waiting:
    generated = _last(entries, "contract.generated")
    if generated is None:
        return Waiting({"id": "system", "name": "contracts", "role": "system"}, "generate the contract", since)
    signed = _last(entries, "contract.signed")
    awaiting: list[str] = list((signed or {}).get("data", {}).get("awaiting") or [])
    if signed is None:
        order = generated["data"].get("signing_order", "vendor_first")
        awaiting = ["buyer"] if order == "buyer_first" else ["vendor"]
    start = (signed or generated)["occurred_at"]
    due = _when(generated["data"].get("expires_at"))
    if "vendor" in awaiting:
        return Waiting(_vendor(vendor_id), "sign the contract", start, due)
    return Waiting(BUYER_SIGNATORY, "sign the contract", start, due)


_DELIVERY = ("notification.failed",)
_ASKED = ("purchase_request.approved", "vendor.notified", *_DELIVERY)
_SIGNING = ("vendor.accepted", *_DELIVERY, "contract.generated", "contract.signed")
READS: Mapping[str, tuple[str, ...]] = {
    "submitted": (
        "approval.task_assigned",
        "approval.task_decided",
        "approval.task_withdrawn",
        "approval.escalated",
        "approval.chain_blocked",
    ),
    "approved": _ASKED,
    "vendor_notified": _ASKED,
    "vendor_accepted": _SIGNING,
    "contract_pending": _SIGNING,
}
"""The entries' types ``waiting_on`` reads in each status (any other status reads none but the last entry's time):
a reader may hand it only those entries, oldest first, with the whole timeline's ``latest`` time
(``repository.reads.request_view``)."""


def waiting_on(
    *,
    status: str,
    requester: dict[str, str],
    vendor_id: str,
    updated_at: datetime,
    entries: Sequence[Mapping[str, Any]],
    latest: datetime | None = None,
) -> Waiting | None:
    """Who the request waits for now. ``entries`` is its timeline, oldest first (``event_type``, ``data``,
    ``occurred_at``), or only its entries of the types ``READS`` names for ``status``; then ``latest`` is the
    ``occurred_at`` of the whole timeline's last entry (None: no entry)."""
    me = {**requester, "role": "requester"}
    if latest is None:
        latest = entries[-1]["occurred_at"] if entries else None
    since = latest if latest is not None else updated_at
    if status in ("closed", "cancelled", "rejected"):
        return None
    if status == "draft":
        return Waiting(me, "complete and submit the draft", updated_at)
    if status == "changes_requested":
        return Waiting(me, "revise the request as the approver asked", since)
    if status == "submitted":
        return _approval(entries, since)
    if status in ("approved", "vendor_notified"):
        asked = _last(entries, "purchase_request.approved", "vendor.notified")
        start = asked["occurred_at"] if asked else since
        return _delivery(entries, start) or Waiting(_vendor(vendor_id), "accept or decline the order", start)
    if status == "vendor_declined":
        return Waiting(me, "send the order to another vendor, or cancel it", since)
    if status in ("vendor_accepted", "contract_pending"):
        accepted = _last(entries, "vendor.accepted")
        start = accepted["occurred_at"] if accepted else since
        return _delivery(entries, start) or _signing(entries, vendor_id, start)
    if status in ("contract_executed", "partially_received"):
        return Waiting(me, "confirm receipt as the goods or services arrive", since)
    if status == "received":
        return Waiting(me, "close the order", since)
    return None
