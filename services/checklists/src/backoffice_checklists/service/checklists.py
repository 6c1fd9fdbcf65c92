"""Use cases of checklists: start (idempotent per employee and kind), complete an item, move the last day, cancel."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from backoffice_checklists.domain.checklists import Checklist, Item
from backoffice_checklists.domain.employees import Employee
from backoffice_checklists.domain.templates import Kind, Template
from backoffice_checklists.domain.timing import timers_of
from backoffice_checklists.service.uow import ChecklistsUnitOfWork
from backoffice_common.auth import User
from backoffice_common.errors import Forbidden, Invalid, NotFound

MANAGES_ALL = ("hr", "admin")


def now_utc() -> datetime:
    return datetime.now(UTC)


async def groups_of(*, uow: ChecklistsUnitOfWork, user: User) -> frozenset[str]:
    """The groups a user acts for: their roles (``hr``...) and the groups HR put them in."""
    return frozenset(user.roles) | await uow.groups.groups_of(user.sub)


async def _schedule(uow: ChecklistsUnitOfWork, checklist: Checklist, items: list[Item], zone: str) -> None:
    for kind, ref, fire_at in timers_of(checklist, items, zone, now=now_utc()):
        await uow.timers.set(kind=kind, ref_id=ref, fire_at=fire_at)


async def _template_for(uow: ChecklistsUnitOfWork, *, kind: Kind, language: str, key: str | None) -> Template:
    """The newest version of ``key``, else of the standard ``<kind>-<language>`` (``<kind>-en`` without one)."""
    for candidate in [key] if key else dict.fromkeys([f"{kind}-{language}", f"{kind}-en"]):
        found = await uow.templates.latest(candidate)
        if found is None:
            continue
        template = found[0]
        if template.kind != kind:
            raise Invalid(f"template {candidate} is for {template.kind}, not {kind}", field="template")
        return template
    raise NotFound(f"there is no {kind} template {key or ''}".rstrip())


async def start(
    *, uow: ChecklistsUnitOfWork, kind: Kind, employee: Employee, zone: str, template_key: str | None = None
) -> tuple[Checklist, bool]:
    """The employee's checklist of ``kind``: the open one if there is one, else a new one from the
    template ``template_key`` or the standard one of the employee's language. The caller commits."""
    await uow.checklists.lock_employee(employee.id, kind)
    existing = await uow.checklists.open_of(employee.id, kind)
    if existing is not None:
        return existing, False
    template = await _template_for(uow, kind=kind, language=employee.language, key=template_key)
    checklist = Checklist.start(id=str(uuid.uuid4()), template=template, employee=employee, now=now_utc())
    await uow.checklists.add(checklist)
    await _schedule(uow, checklist, checklist.items, zone)
    return checklist, True


async def get(*, uow: ChecklistsUnitOfWork, checklist_id: str, lock: bool = False) -> Checklist:
    checklist = await uow.checklists.get(checklist_id, lock=lock)
    if checklist is None:
        raise NotFound(f"checklist {checklist_id} does not exist")
    return checklist


def may_read(checklist: Checklist, user: User) -> bool:
    person = user.sub in (checklist.employee.id, checklist.employee.manager_id)
    return person or user.has_any(*MANAGES_ALL)


async def complete_item(
    *, uow: ChecklistsUnitOfWork, checklist_id: str, key: str, evidence: dict[str, str], user: User
) -> Item:
    """Close one item with its evidence; by its assignee (person or group) or HR. The caller commits."""
    checklist = await get(uow=uow, checklist_id=checklist_id, lock=True)
    try:
        item = checklist.item(key)
    except KeyError:
        raise NotFound(f"checklist {checklist_id} has no item {key}") from None
    groups = await groups_of(uow=uow, user=user)
    if not (user.has_any(*MANAGES_ALL) or item.assigned_to(user=user.sub, groups=groups)):
        raise Forbidden(f"item {key} is assigned to {item.assignee_user or item.assignee_group}, not to you")
    uow.attribute_to(actor={"id": user.sub, "name": user.name, "role": "user"})
    if checklist.complete_item(key, evidence=evidence, by=user.sub, now=now_utc()):
        await uow.checklists.save(checklist)
    return item


async def move_last_day(*, uow: ChecklistsUnitOfWork, employee_id: str, last_day: date, zone: str) -> list[Item]:
    """The employee's running offboarding follows a changed last day: due dates and timers move."""
    checklist = await uow.checklists.open_of(employee_id, "offboarding", lock=True)
    if checklist is None or checklist.status != "running":
        raise NotFound(f"employee {employee_id} has no running offboarding")
    if checklist.employee.last_day == last_day:
        return []
    moved = checklist.move_last_day(last_day)
    await uow.checklists.save(checklist)
    undone = [i for i in checklist.items if i.status != "done"]
    await _schedule(uow, checklist, undone, zone)
    return moved


async def cancel(*, uow: ChecklistsUnitOfWork, checklist_id: str, reason: str, user: User | None) -> Checklist:
    checklist = await get(uow=uow, checklist_id=checklist_id, lock=True)
    if user is not None:
        uow.attribute_to(actor={"id": user.sub, "name": user.name, "role": "hr"}, cause=uow.cause)
    if checklist.cancel(reason=reason, now=now_utc()):
        await uow.checklists.save(checklist)
    return checklist


async def purchase_received(*, uow: ChecklistsUnitOfWork, request_id: str) -> Item | None:
    """The order a purchase item asked for was received: the item is done. None when no running checklist's
    undone item ordered it (another request, or a repeat). The caller commits."""
    checklist = await uow.checklists.with_purchase(request_id)
    if checklist is None:
        return None
    item = checklist.purchase_received(request_id, now=now_utc())
    if item is not None:
        await uow.checklists.save(checklist)
    return item
