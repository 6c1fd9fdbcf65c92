"""backoffice.approvals: approver emails, requester emails, and the approved order to the vendor."""

from __future__ import annotations

from backoffice_common.consumer import Handler
from backoffice_common.events import CloudEvent
from backoffice_common.uow import UnitOfWork
from backoffice_notifications.consumers.payloads import (
    Decided,
    Escalated,
    ReminderDue,
    TaskAssigned,
    WithRequest,
    parse,
)
from backoffice_notifications.deliveries.enqueue import enqueue_email
from backoffice_notifications.domain.orders import AWAITING_VENDOR
from backoffice_notifications.flows.orders import get_order, send_order, upsert_snapshot
from backoffice_notifications.settings import Settings


def handlers(settings: Settings) -> dict[str, Handler]:
    base = settings.app_base_url.rstrip("/")

    def task_url(task_id: str) -> str:
        return f"{base}/approvals/tasks/{task_id}"

    async def task_assigned(event: CloudEvent, uow: UnitOfWork) -> None:
        body = parse(TaskAssigned, event)
        context = body.model_dump() | {"task_url": task_url(body.task_id)}
        await enqueue_email(
            session=uow.session,
            cause=event,
            template="task_assigned",
            language="en",
            recipient=body.assignee.email,
            context=context,
            request_id=body.request_id,
        )

    async def reminder_due(event: CloudEvent, uow: UnitOfWork) -> None:
        body = parse(ReminderDue, event)
        context = body.model_dump() | {"task_url": task_url(body.task_id)}
        await enqueue_email(
            session=uow.session,
            cause=event,
            template="task_reminder",
            language="en",
            recipient=body.assignee.email,
            context=context,
            request_id=body.request_id,
        )

    async def escalated(event: CloudEvent, uow: UnitOfWork) -> None:
        body = parse(Escalated, event)
        context = body.model_dump() | {"task_url": task_url(body.new_task_id)}
        await enqueue_email(
            session=uow.session,
            cause=event,
            template="task_escalated",
            language="en",
            recipient=body.to.email,
            context=context,
            request_id=body.request_id,
        )

    async def approved(event: CloudEvent, uow: UnitOfWork) -> None:
        body = parse(WithRequest, event)
        snapshot = event.data["request"]
        if not await upsert_snapshot(uow, snapshot, status=AWAITING_VENDOR):
            return
        await send_order(uow=uow, cause=event, snapshot=snapshot, settings=settings)
        requester = body.request.requester
        if requester.email:
            await enqueue_email(
                session=uow.session,
                cause=event,
                template="request_approved",
                language="en",
                recipient=requester.email,
                request_id=body.request.request_id,
                context={
                    "requester": requester.model_dump(),
                    "number": body.request.number,
                    "title": body.request.title,
                },
            )

    def decided(template: str) -> Handler:
        async def handle(event: CloudEvent, uow: UnitOfWork) -> None:
            body = parse(Decided, event)
            order = await get_order(uow, body.request_id)
            number = order["snapshot"].get("number") if order else None
            context = body.model_dump() | {
                "number": number or body.request_id,
                "request_url": f"{base}/requests/{body.request_id}",
                "comment": body.comment or "",
            }
            await enqueue_email(
                session=uow.session,
                cause=event,
                template=template,
                language="en",
                recipient=body.requester.email,
                context=context,
                request_id=body.request_id,
            )

        return handle

    return {
        "approval.task_assigned": task_assigned,
        "approval.reminder_due": reminder_due,
        "approval.escalated": escalated,
        "purchase_request.approved": approved,
        "purchase_request.rejected": decided("request_rejected"),
        "purchase_request.changes_requested": decided("changes_requested"),
    }
