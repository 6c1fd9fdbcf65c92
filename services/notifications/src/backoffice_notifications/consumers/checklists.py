"""backoffice.checklists: assignees hear of a ready item, on its due day, and when it is overdue; security of an
open access."""

from __future__ import annotations

from backoffice_common.events import CloudEvent, parse_payload
from backoffice_notifications.consumers.payloads import ChecklistItemEvent
from backoffice_notifications.service import checklists
from backoffice_notifications.service.deliveries import Cause
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


async def item_ready(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> str:
    body = parse_payload(ChecklistItemEvent, event)
    return await checklists.item_ready(uow, cause=Cause.of(event), body=body, settings=settings)


async def item_overdue(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> str:
    body = parse_payload(ChecklistItemEvent, event)
    return await checklists.item_overdue(uow, cause=Cause.of(event), body=body, settings=settings)


async def item_reminder_due(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> str:
    body = parse_payload(ChecklistItemEvent, event)
    return await checklists.item_reminder(uow, cause=Cause.of(event), body=body, settings=settings)


HANDLERS = {
    "checklist.item_ready": item_ready,
    "checklist.item_reminder_due": item_reminder_due,
    "checklist.item_overdue": item_overdue,
}
