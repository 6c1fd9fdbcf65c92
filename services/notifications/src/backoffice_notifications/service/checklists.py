"""Checklist emails: the assignee of a ready item, reminded on its due day and when overdue, and the group an open
access is escalated to (security). In the checklist's language (its template's, the employee's); the
employee and manager are emailed at the addresses HR gave, a group at its mailbox
(``NOTIFICATIONS_CHECKLIST_GROUP_EMAILS``). One delivery per (event, recipient, template): a redelivered
event sends nothing twice."""

from __future__ import annotations

from typing import Any

from backoffice_notifications.consumers.payloads import ChecklistItemEvent
from backoffice_notifications.service import deliveries
from backoffice_notifications.service.deliveries import Cause, Target
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


def assignee_email(body: ChecklistItemEvent, settings: Settings) -> str:
    """The employee's or manager's address for a personal item, the group's mailbox for a group's item."""
    item = body.item
    if item.assignee_user is not None:
        if item.assignee_user == body.employee.id:
            return body.employee.email
        if item.assignee_user == body.manager.id:
            return body.manager.email
        return ""
    return settings.checklist_group_emails.get(item.assignee_group or "", "")


def _context(body: ChecklistItemEvent, settings: Settings) -> dict[str, Any]:
    return body.model_dump() | {"checklist_url": f"{settings.app_base_url.rstrip('/')}/checklists/{body.checklist_id}"}


async def _send(
    uow: NotificationsUnitOfWork,
    *,
    cause: Cause,
    template: str,
    recipient: str,
    body: ChecklistItemEvent,
    context: dict[str, Any],
    settings: Settings,
) -> str:
    if not recipient:
        return f"{template}: no address for {body.item.assignee_user or body.item.assignee_group}"
    await deliveries.email(
        uow,
        cause=cause,
        template=template,
        language=body.language or settings.default_language,
        recipient=recipient,
        context=context,
        target=Target(None),
    )
    return f"{template} -> {recipient}"


async def _to_assignee(
    uow: NotificationsUnitOfWork, *, cause: Cause, body: ChecklistItemEvent, settings: Settings, template: str
) -> str:
    return await _send(
        uow,
        cause=cause,
        template=template,
        recipient=assignee_email(body, settings),
        body=body,
        context=_context(body, settings),
        settings=settings,
    )


async def item_ready(
    uow: NotificationsUnitOfWork, *, cause: Cause, body: ChecklistItemEvent, settings: Settings
) -> str:
    """An item became ready: its assignee is told."""
    return await _to_assignee(uow, cause=cause, body=body, settings=settings, template="checklist_item_ready")


async def item_reminder(
    uow: NotificationsUnitOfWork, *, cause: Cause, body: ChecklistItemEvent, settings: Settings
) -> str:
    """The due day of an item still open has begun: its assignee is reminded."""
    return await _to_assignee(uow, cause=cause, body=body, settings=settings, template="checklist_item_reminder")


async def item_overdue(
    uow: NotificationsUnitOfWork, *, cause: Cause, body: ChecklistItemEvent, settings: Settings
) -> str:
    """The assignee is reminded; an escalated item also goes to the escalation group's mailbox."""
    context = _context(body, settings)
    outcomes = [
        await _send(
            uow,
            cause=cause,
            template="checklist_item_overdue",
            recipient=assignee_email(body, settings),
            body=body,
            context=context,
            settings=settings,
        )
    ]
    if body.escalated_to:
        outcomes.append(
            await _send(
                uow,
                cause=cause,
                template="checklist_item_escalated",
                recipient=settings.checklist_group_emails.get(body.escalated_to, ""),
                body=body,
                context=context,
                settings=settings,
            )
        )
    return "; ".join(outcomes)
