"""Retention rules of the notifications service (applied by the shared retention job, docs/retention.md)."""

from __future__ import annotations

from datetime import timedelta

from backoffice_common.idempotency import idempotency_retention
from backoffice_common.retention import Retention
from backoffice_notifications.settings import Settings


def retention(settings: Settings) -> list[Retention]:
    """Webhook ids older than three tolerances (such messages fail the timestamp check anyway), and the
    bodies of sent or withdrawn deliveries after ``NOTIFICATIONS_DELIVERY_BODY_RETENTION_DAYS``: a failed
    delivery keeps its body, an operator may retry it. Idempotency-Keys after
    ``NOTIFICATIONS_IDEMPOTENCY_RETENTION_HOURS``."""
    return [
        Retention(
            "webhook_ids", "received_webhook", "received_at", timedelta(seconds=3 * settings.webhook_tolerance_seconds)
        ),
        Retention(
            "delivery_bodies",
            "delivery",
            "created_at",
            timedelta(days=settings.delivery_body_retention_days),
            condition="status IN ('sent', 'withdrawn')",
            clear=("body_text", "body_html", "payload"),
        ),
        idempotency_retention(timedelta(hours=settings.idempotency_retention_hours)),
    ]
