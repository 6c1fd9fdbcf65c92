"""All SQL of the notifications service: one repository per table family, built on the unit of work's session.

Repositories hand every aggregate they load or add to ``track`` (the unit of work's), so its recorded
events are published at commit. They never commit.
"""

from __future__ import annotations

from backoffice_notifications.repository.contracts import ContractRepository
from backoffice_notifications.repository.deliveries import DELIVERY_CHANNEL, DeliveryRepository
from backoffice_notifications.repository.links import LinkRepository
from backoffice_notifications.repository.orders import OrderRepository
from backoffice_notifications.repository.vendors import VendorRepository
from backoffice_notifications.repository.webhooks import ReceivedWebhookRepository

__all__ = [
    "DELIVERY_CHANNEL",
    "ContractRepository",
    "DeliveryRepository",
    "LinkRepository",
    "OrderRepository",
    "ReceivedWebhookRepository",
    "VendorRepository",
]
