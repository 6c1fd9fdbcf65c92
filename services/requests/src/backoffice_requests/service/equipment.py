"""Equipment for a new employee: a checklist item's ``checklist.purchase_requested`` becomes a draft
purchase request of the employee's manager, with the id the checklist named (so a repeat drafts
nothing). The manager picks the vendor, checks the rest and submits it like any draft; its
``purchase_request.receipt_confirmed`` later completes the checklist item."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from backoffice_requests.domain.content import LineInput, make_content
from backoffice_requests.domain.model import Actor, Person, PurchaseRequest
from backoffice_requests.service.requests import today
from backoffice_requests.service.uow import RequestsUnitOfWork

CHECKLISTS = Actor(id="system", name="checklists", role="system")


@dataclass(frozen=True)
class Equipment:
    request_id: str
    manager: Person
    title: str
    description: str
    lines: list[LineInput]
    currency: str
    cost_center: str
    department: str
    category: str
    needed_by: date


async def draft_for_manager(*, uow: RequestsUnitOfWork, equipment: Equipment) -> tuple[PurchaseRequest, bool]:
    """The draft (new, or the one drafted before for the same item: False). The caller commits."""
    existing = await uow.requests.get(equipment.request_id, for_update=True)
    if existing is not None:
        return existing, False
    content = make_content(
        title=equipment.title,
        description=equipment.description,
        vendor_id="",
        currency=equipment.currency,
        cost_center=equipment.cost_center,
        department=equipment.department,
        category=equipment.category,
        needed_by=max(equipment.needed_by, today()),
        lines=equipment.lines,
        today=today(),
    )
    request = PurchaseRequest.draft(
        id=equipment.request_id,
        number=await uow.requests.next_number(),
        requester=equipment.manager,
        content=content,
        actor=CHECKLISTS,
    )
    await uow.requests.add(request, actor=CHECKLISTS)
    return request, True


def line(description: str, quantity: Decimal, unit: str, unit_price: Decimal) -> LineInput:
    return LineInput(description, quantity, unit, unit_price)
