"""Background work of the requests service: the retention of Idempotency-Keys (a rule of the shared job)."""

from __future__ import annotations

from datetime import timedelta

from backoffice_common.idempotency import idempotency_retention
from backoffice_common.retention import Retention
from backoffice_requests.settings import Settings


def retention(settings: Settings) -> list[Retention]:
    """Idempotency-Keys are forgotten after ``REQUESTS_IDEMPOTENCY_RETENTION_HOURS``."""
    return [idempotency_retention(timedelta(hours=settings.idempotency_retention_hours))]
