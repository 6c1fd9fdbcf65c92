"""Background jobs of the notifications service: the delivery workers and the webhook-id housekeeping."""

from __future__ import annotations

from backoffice_notifications.jobs.deliveries import delivery_job
from backoffice_notifications.jobs.housekeeping import purge_received_webhooks

JOBS = (delivery_job, purge_received_webhooks)

__all__ = ["JOBS", "delivery_job", "purge_received_webhooks"]
