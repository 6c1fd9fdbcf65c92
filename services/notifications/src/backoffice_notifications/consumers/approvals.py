"""backoffice.approvals: approver emails, requester emails, and the approved order to the vendor."""

from __future__ import annotations

from backoffice_common.events import CloudEvent, parse_payload
from backoffice_notifications.consumers.payloads import (
    Approved,
    ChainBlocked,
    Decided,
    Escalated,
    ReminderDue,
    TaskAssigned,
    TaskEvent,
    TaskWithdrawn,
)
from backoffice_notifications.service import notices, orders, people
from backoffice_notifications.service.deliveries import Cause
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings

TASK_TEMPLATES: dict[type[TaskEvent], str] = {
    TaskAssigned: "task_assigned",
    ReminderDue: "task_reminder",
    Escalated: "task_escalated",
}


async def _task(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings, model: type[TaskEvent]) -> None:
    body = parse_payload(model, event)
    await people.task_email(
        uow,
        cause=Cause.of(event),
        template=TASK_TEMPLATES[model],
        recipient=body.recipient.email,
        language=body.recipient.language,
        task_id=body.linked_task_id,
        request_id=body.request_id,
        context=body.model_dump(),
        settings=settings,
    )


async def task_assigned(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    await _task(event, uow, settings, TaskAssigned)


async def reminder_due(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    await _task(event, uow, settings, ReminderDue)


async def escalated(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    await _task(event, uow, settings, Escalated)


async def approved(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    body = parse_payload(Approved, event)
    snapshot = dict(event.data["request"])
    if body.requester is not None and body.requester.language:
        # The directory's language of the requester (approvals adds it): every later email to them uses it.
        snapshot["requester"] = {**snapshot["requester"], "language": body.requester.language}
    await orders.approved(uow, cause=Cause.of(event), snapshot=snapshot, settings=settings)


async def _decided(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings, template: str) -> None:
    body = parse_payload(Decided, event)
    await people.decision_email(
        uow,
        cause=Cause.of(event),
        template=template,
        recipient=body.requester.email,
        language=body.requester.language,
        request_id=body.request_id,
        context=body.model_dump(),
        settings=settings,
    )


async def rejected(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    await _decided(event, uow, settings, "request_rejected")


async def changes_requested(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    await _decided(event, uow, settings, "changes_requested")


async def task_withdrawn(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    body = parse_payload(TaskWithdrawn, event)
    await notices.task_withdrawn(
        uow, cause=Cause.of(event), request_id=body.request_id, context=body.model_dump(), settings=settings
    )


async def chain_blocked(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    body = parse_payload(ChainBlocked, event)
    await notices.chain_blocked(
        uow, cause=Cause.of(event), request_id=body.request_id, context=body.model_dump(), settings=settings
    )


HANDLERS = {
    "approval.task_withdrawn": task_withdrawn,
    "approval.chain_blocked": chain_blocked,
    "approval.task_assigned": task_assigned,
    "approval.reminder_due": reminder_due,
    "approval.escalated": escalated,
    "purchase_request.approved": approved,
    "purchase_request.rejected": rejected,
    "purchase_request.changes_requested": changes_requested,
}
