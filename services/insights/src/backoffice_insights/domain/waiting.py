"""Who an open request waits on, derived from its events (no call to another service)."""

from __future__ import annotations

from datetime import datetime

from backoffice_insights.domain.view import Person, RequestView, Waiting

SYSTEM = Person("system", "system")


def waiting_on(view: RequestView, since: datetime | None) -> Waiting | None:
    if view.status in {"closed", "cancelled", "rejected", "unknown"} or since is None:
        return None
    requester = (view.requester,) if view.requester else ()
    if view.status == "in_approval":
        open_tasks = [t for t in view.tasks if t.open and t.assigned_at is not None and t.assigned_at >= since]
        if not open_tasks:
            return Waiting("system", (SYSTEM,), since)
        who = tuple(sorted({t.assignee for t in open_tasks}, key=lambda p: p.id))
        return Waiting("approver", who, min(t.assigned_at for t in open_tasks if t.assigned_at is not None))
    if view.status == "changes_requested":
        return Waiting("requester", requester, since)
    if view.status == "approved":
        return Waiting("vendor", (Person(view.vendor_id, ""),), since)
    if view.status in {"vendor_declined", "contract_expired", "contract_voided"}:
        return Waiting("procurement", (), since)
    if view.status == "accepted":
        return Waiting("system", (SYSTEM,), since)
    if view.status == "contracting":
        return _signatures(view, since)
    return Waiting("requester", requester, since)  # executed (receipt due) or received (closure due)


def _signatures(view: RequestView, since: datetime) -> Waiting:
    current = [s for s in view.signings if s.ended is None]
    if not current:
        return Waiting("system", (SYSTEM,), since)
    signing = max(current, key=lambda s: (s.generated_at or since, s.contract_id))
    if signing.vendor_signed_at is None:
        return Waiting("vendor", (Person(signing.vendor_id or view.vendor_id, ""),), since)
    return Waiting("buyer", (), signing.vendor_signed_at)
