"""Emails to the people who must act (approvers) or who asked (requesters); each in the language of its recipient."""

from __future__ import annotations

from typing import Any

from backoffice_notifications.service import deliveries
from backoffice_notifications.service.deliveries import Cause
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


def _base(settings: Settings) -> str:
    return settings.app_base_url.rstrip("/")


async def task_email(
    uow: NotificationsUnitOfWork,
    *,
    cause: Cause,
    template: str,
    recipient: str,
    task_id: str,
    request_id: str,
    context: dict[str, Any],
    settings: Settings,
    language: str | None = None,
) -> None:
    """An approver's email with a link to the task in the web app, in the approver's language."""
    await deliveries.staff_email(
        uow,
        cause=cause,
        template=template,
        recipient=recipient,
        language=language,
        context=context | {"task_url": f"{_base(settings)}/approvals/tasks/{task_id}"},
        request_id=request_id,
        settings=settings,
    )


async def decision_email(
    uow: NotificationsUnitOfWork,
    *,
    cause: Cause,
    template: str,
    recipient: str,
    request_id: str,
    context: dict[str, Any],
    settings: Settings,
    language: str | None = None,
) -> None:
    """The requester's email about a rejection or a request for changes, with the approver's comment."""
    order = await uow.orders.get(request_id)
    await deliveries.staff_email(
        uow,
        cause=cause,
        template=template,
        recipient=recipient,
        language=language,
        context=context
        | {
            "number": order.number if order else request_id,
            "request_url": f"{_base(settings)}/requests/{request_id}",
            "comment": context.get("comment") or "",
        },
        request_id=request_id,
        settings=settings,
    )
