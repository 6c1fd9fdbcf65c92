"""backoffice.budgets: the cost centre's owner hears when a budget's use passes a threshold."""

from __future__ import annotations

from backoffice_common.events import CloudEvent, parse_payload
from backoffice_notifications.consumers.payloads import ThresholdCrossed
from backoffice_notifications.service import notices
from backoffice_notifications.service.deliveries import Cause
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


async def threshold_crossed(event: CloudEvent, uow: NotificationsUnitOfWork, settings: Settings) -> None:
    body = parse_payload(ThresholdCrossed, event)
    await notices.budget_threshold(uow, cause=Cause.of(event), context=body.model_dump(), settings=settings)


HANDLERS = {"budget.threshold_crossed": threshold_crossed}
