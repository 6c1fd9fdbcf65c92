"""Retention: Idempotency-Keys are forgotten after the configured time."""

from __future__ import annotations

from datetime import timedelta

from backoffice_requests.service.uow import RequestsUnitOfWork


async def expire_idempotency_keys(*, uow: RequestsUnitOfWork, older_than: timedelta) -> None:
    await uow.idempotency.expire(older_than=older_than)
    await uow.commit()
