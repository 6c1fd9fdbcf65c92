"""The notifications unit of work: repositories as attributes, and the aggregates' events turned into CloudEvents."""

from __future__ import annotations

from typing import Any, Self

import structlog

from backoffice_common import topics
from backoffice_common.events import CloudEvent
from backoffice_common.uow import UnitOfWork
from backoffice_notifications.domain.events import DomainEvent
from backoffice_notifications.domain.vendors import Vendor
from backoffice_notifications.repository import (
    ContractRepository,
    DeliveryRepository,
    LinkRepository,
    OrderRepository,
    ReceivedWebhookRepository,
    VendorRepository,
)

SOURCE = "backoffice/notifications"


def correlation_of(event: DomainEvent) -> str:
    """The event's own correlation id, else the current HTTP request's or consumed event's, else its id."""
    bound = structlog.contextvars.get_contextvars().get("correlation_id")
    return event.correlation_id or (str(bound) if bound else None) or event.id


def to_cloud_event(event: DomainEvent) -> CloudEvent:
    return CloudEvent(
        id=event.id,
        source=SOURCE,
        type=event.type,
        subject=event.subject,
        data=event.data,
        correlationid=correlation_of(event),
        causationid=event.causation_id,
    )


def topic_of(aggregate: Any) -> str:
    return topics.VENDORS if isinstance(aggregate, Vendor) else topics.NOTIFICATIONS


class NotificationsUnitOfWork(UnitOfWork):
    vendors: VendorRepository
    orders: OrderRepository
    contracts: ContractRepository
    deliveries: DeliveryRepository
    links: LinkRepository
    received_webhooks: ReceivedWebhookRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        session, track = self.session, self.track
        self.vendors = VendorRepository(session, track)
        self.orders = OrderRepository(session, track)
        self.contracts = ContractRepository(session, track)
        self.deliveries = DeliveryRepository(session, track)
        self.links = LinkRepository(session, track)
        self.received_webhooks = ReceivedWebhookRepository(session, track)
        return self

    async def collect_events(self) -> None:
        for aggregate in self.seen:
            recorded: list[DomainEvent] = aggregate.events
            for event in recorded:
                self.publish(to_cloud_event(event), topic=topic_of(aggregate), key=event.key or event.subject)
            recorded.clear()


def notifications_uow(uow: UnitOfWork) -> NotificationsUnitOfWork:
    """The unit of work the shared runtime opened, as this service's class (ServiceSpec.uow_class)."""
    if not isinstance(uow, NotificationsUnitOfWork):
        raise TypeError(f"expected a NotificationsUnitOfWork, got {type(uow).__name__}: check ServiceSpec.uow_class")
    return uow
