"""The local read model of vendors: the newest record of each vendor wins; a blocked vendor's orders are withdrawn."""

from __future__ import annotations

from typing import Any

from backoffice_requests.domain.lifecycle import WITHDRAWN_WHEN_VENDOR_BLOCKED
from backoffice_requests.domain.model import Actor
from backoffice_requests.service.uow import RequestsUnitOfWork

SYSTEM = Actor(id="system", name="requests", role="system")


async def record_vendor(
    *, uow: RequestsUnitOfWork, vendor_id: str, status: str, record: dict[str, Any], updated_at: str
) -> list[str]:
    """Keep ``record`` unless a newer one of the vendor is kept already (records may arrive twice or
    out of order); ``updated_at`` is ISO 8601 in UTC with microseconds.

    A kept record that says ``blocked`` withdraws the vendor's outstanding orders (issue #12, item 5):
    each is cancelled by the system with ``cause: vendor_blocked`` and a reason naming who blocked the
    vendor, in this transaction; the usual compensation follows from ``purchase_request.cancelled``
    (approval tasks withdrawn, the vendor's links and the contract voided). Returns the withdrawn ids
    (none for a record seen before: the orders are cancelled already)."""
    kept = await uow.vendors.upsert(vendor_id=vendor_id, status=status, record=record, updated_at=updated_at)
    if not kept or status != "blocked":
        return []
    actor = record.get("actor")
    blocker: dict[str, Any] = actor if isinstance(actor, dict) else {}
    by = str(blocker.get("name") or blocker.get("id") or "procurement")
    name = str(record.get("legal_name") or vendor_id)
    reason = f"withdrawn: the vendor {name} was blocked by {by}"
    withdrawn = []
    for request_id in await uow.requests.ids_of_vendor(vendor_id, statuses=WITHDRAWN_WHEN_VENDOR_BLOCKED):
        request = await uow.requests.get(request_id, for_update=True)
        if request is None or request.status not in WITHDRAWN_WHEN_VENDOR_BLOCKED:
            continue
        request.cancel(reason=reason, actor=SYSTEM, cause="vendor_blocked")
        await uow.requests.save(request, actor=SYSTEM)
        withdrawn.append(request_id)
    return withdrawn
