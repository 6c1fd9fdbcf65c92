"""Background jobs of the notifications service: the delivery workers; its retention rules."""

from __future__ import annotations

from backoffice_notifications.jobs.deliveries import delivery_job
from backoffice_notifications.jobs.housekeeping import retention

JOBS = (delivery_job,)

__all__ = ["JOBS", "delivery_job", "retention"]
