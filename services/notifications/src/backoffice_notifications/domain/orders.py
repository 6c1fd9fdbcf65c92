"""The order as the notifications service sees it, and who may answer it when."""

from __future__ import annotations

from dataclasses import dataclass

IN_APPROVAL = "in_approval"
AWAITING_VENDOR = "awaiting_vendor"
ACCEPTED = "accepted"
DECLINED = "declined"
CANCELLED = "cancelled"


class ResponseRefused(Exception):
    """The vendor may not answer this order now (HTTP 409)."""


@dataclass(frozen=True)
class OrderView:
    request_id: str
    revision: int
    vendor_id: str | None
    status: str


def check_vendor_may_answer(order: OrderView | None, *, vendor_id: str, revision: int | None = None) -> OrderView:
    if order is None:
        raise ResponseRefused("no order was sent for this request")
    if order.vendor_id != vendor_id:
        raise ResponseRefused("this order was not sent to this vendor")
    if order.status != AWAITING_VENDOR:
        raise ResponseRefused(f"the order does not wait for the vendor (it is {order.status})")
    if revision is not None and revision != order.revision:
        raise ResponseRefused(f"the link is for revision {revision}; the order is at revision {order.revision}")
    return order


def newer(incoming_revision: int, current_revision: int | None) -> bool:
    return current_revision is None or incoming_revision >= current_revision


def system_actor() -> dict[str, str]:
    return {"id": "system", "name": "notifications", "role": "system"}


def vendor_actor(vendor_id: str, legal_name: str) -> dict[str, str]:
    return {"id": f"vendor:{vendor_id}", "name": legal_name, "role": "vendor"}
