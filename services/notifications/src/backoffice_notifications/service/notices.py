"""Notices: people are told when something they waited for or worked on stops or goes wrong.

A withdrawn task (its assignee), a blocked approval chain (the requester and procurement), a voided or
expired contract (the requester; the vendor too when its signing link expired), a delivery that failed
for good (the requester and procurement), and a budget passing 80 % or 100 % (the cost centre's owner).
"""

from __future__ import annotations

from typing import Any

from backoffice_notifications.domain.deliveries import FAILED, Delivery
from backoffice_notifications.service import deliveries
from backoffice_notifications.service.deliveries import Cause, Target, VendorMessage
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings

DELIVERY_FAILED = "delivery_failed"


def _base(settings: Settings) -> str:
    return settings.app_base_url.rstrip("/")


async def _number(uow: NotificationsUnitOfWork, request_id: str) -> str:
    order = await uow.orders.get(request_id)
    return order.number if order and order.number else request_id


async def task_withdrawn(
    uow: NotificationsUnitOfWork, *, cause: Cause, request_id: str, context: dict[str, Any], settings: Settings
) -> None:
    """The assignee no longer needs to decide (cancelled request, new revision, escalation elsewhere)."""
    await deliveries.staff_email(
        uow,
        cause=cause,
        template="task_withdrawn",
        recipient=context["assignee"].get("email", ""),
        language=context["assignee"].get("language"),
        context=context | {"number": await _number(uow, request_id)},
        request_id=request_id,
        settings=settings,
    )


async def chain_blocked(
    uow: NotificationsUnitOfWork, *, cause: Cause, request_id: str, context: dict[str, Any], settings: Settings
) -> None:
    """Nobody may approve a step: the requester learns it waits, procurement must fix the directory or policy."""
    context = context | {
        "number": context.get("request_number") or await _number(uow, request_id),
        "request_url": f"{_base(settings)}/requests/{request_id}",
    }
    requester = context["requester"]
    for recipient, language in (
        (requester.get("email", ""), requester.get("language")),
        (settings.procurement_email, settings.procurement_language),
    ):
        await deliveries.staff_email(
            uow,
            cause=cause,
            template="chain_blocked",
            recipient=recipient,
            context=context,
            request_id=request_id,
            language=language,
            settings=settings,
        )


async def contract_closed(
    uow: NotificationsUnitOfWork,
    *,
    cause: Cause,
    contract_id: str,
    request_id: str,
    status: str,
    reason: str,
    settings: Settings,
) -> None:
    """Voided or expired: signing is refused from now on; the requester hears it, and for an expiry the vendor
    (whose signing link no longer works). A voided contract's vendor already heard of the cancellation."""
    vendor_id = await uow.contracts.set_status(contract_id, status)
    order = await uow.orders.get(request_id)
    number = order.number if order and order.number else request_id
    context = {"number": number, "contract_id": contract_id, "reason": reason}
    if order is not None:
        await deliveries.staff_email(
            uow,
            cause=cause,
            template=f"contract_{status}",
            recipient=order.requester.get("email", ""),
            language=order.requester.get("language"),
            context=context | {"requester": order.requester},
            request_id=request_id,
            settings=settings,
        )
    vendor = await uow.vendors.get(vendor_id) if status == "expired" and vendor_id else None
    if vendor is not None:
        message = VendorMessage(
            template="contract_expired_vendor", context=context | {"vendor_name": vendor.legal_name}
        )
        await deliveries.notify_vendor(
            uow, cause=cause, vendor=vendor, message=message, target=Target(request_id, vendor_id=vendor.id)
        )


async def delivery_failed(uow: NotificationsUnitOfWork, failed: Delivery, *, settings: Settings) -> None:
    """A delivery that failed for good: the requester of its order (unless they were the one not reached) and
    procurement are told. A failed notice of this kind is not noticed again."""
    if failed.status != FAILED or failed.template == DELIVERY_FAILED:
        return
    order = await uow.orders.get(failed.request_id) if failed.request_id else None
    requester = order.requester if order else {}
    context = {
        "number": order.number if order and order.number else (failed.request_id or ""),
        "channel": failed.channel,
        "recipient": failed.recipient,
        "template": failed.template,
        "attempts": failed.attempts,
        "error": failed.last_error or "",
        "requester": requester,
    }
    cause = Cause(failed.id, failed.correlation_id or failed.id)
    for recipient in {requester.get("email", ""), settings.procurement_email} - {failed.recipient, ""}:
        await deliveries.staff_email(
            uow,
            cause=cause,
            template=DELIVERY_FAILED,
            recipient=recipient,
            language=requester.get("language")
            if recipient == requester.get("email")
            else settings.procurement_language,
            context=context,
            request_id=failed.request_id,
            settings=settings,
        )


async def budget_threshold(
    uow: NotificationsUnitOfWork, *, cause: Cause, context: dict[str, Any], settings: Settings
) -> None:
    """The cost centre's owner hears when a budget's use passes 80 % or 100 %."""
    owner = context.get("owner") or {}
    await deliveries.staff_email(
        uow,
        cause=cause,
        template="budget_threshold",
        recipient=owner.get("email", ""),
        language=owner.get("language"),
        context=context | {"budgets_url": f"{_base(settings)}/budgets/{context.get('budget_id', '')}"},
        request_id=context.get("request_id"),
        settings=settings,
    )
