"""Background timers; their state lives in the database, so a restart loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import FastAPI

from backoffice_common.uow import UnitOfWork
from backoffice_contracts import service
from backoffice_contracts.runtime import Runtime

log = structlog.get_logger(__name__)


async def expire_once(uow_factory: Callable[[], UnitOfWork], *, now: datetime | None = None) -> int:
    async with uow_factory() as uow:
        count = await service.expire_due(uow=uow, now=now or datetime.now(UTC))
        await uow.commit()
        return count


def expiry_job(runtime: Runtime) -> Callable[[FastAPI], Coroutine[Any, Any, None]]:
    async def expire_unsigned_contracts(app: FastAPI) -> None:
        while True:
            try:
                while await expire_once(app.state.uow_factory) > 0:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("contracts.expiry_failed", error=repr(exc))
            await asyncio.sleep(runtime.settings.expiry_poll_seconds)

    return expire_unsigned_contracts
