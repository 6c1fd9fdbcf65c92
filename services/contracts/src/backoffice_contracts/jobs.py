"""Background jobs; their state lives in the database, so a restart loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, cast

import structlog
from fastapi import FastAPI

from backoffice_common.retry import Backoff
from backoffice_contracts import service
from backoffice_contracts.service.uow import ContractsUnitOfWork
from backoffice_contracts.settings import Settings

log = structlog.get_logger(__name__)


async def expire_once(uow_factory: Callable[[], ContractsUnitOfWork], *, now: datetime | None = None) -> int:
    """Expire one batch of contracts whose signing period ended; returns how many."""
    async with uow_factory() as uow:
        return await service.expire_due(uow=uow, now=now or datetime.now(UTC))


def expiry_job(settings: Settings) -> Callable[[FastAPI], Coroutine[Any, Any, None]]:
    """Every ``expiry_poll_seconds``, expire what is due; after a failure wait longer, up to a minute."""
    interval = settings.expiry_poll_seconds

    async def expire_unsigned_contracts(app: FastAPI) -> None:
        uow_factory = cast(Callable[[], ContractsUnitOfWork], app.state.uow_factory)
        failures = Backoff(interval, max(interval, 60.0))
        while True:
            try:
                while await expire_once(uow_factory) > 0:
                    pass
            except Exception as exc:
                delay = failures.next()
                log.warning("contracts.expiry_failed", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                continue
            failures.reset()
            await asyncio.sleep(interval)

    return expire_unsigned_contracts
