"""Background jobs; their state lives in the database, so a restart loses nothing."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, cast

from fastapi import FastAPI

from backoffice_common.wakeup import run_until_due_loop
from backoffice_contracts import service
from backoffice_contracts.service.uow import EXPIRY_BELL, ContractsUnitOfWork
from backoffice_contracts.settings import Settings


async def expire_once(uow_factory: Callable[[], ContractsUnitOfWork], *, now: datetime | None = None) -> int:
    """Expire one batch of contracts whose signing period ended; returns how many."""
    async with uow_factory() as uow:
        return await service.expire_due(uow=uow, now=now or datetime.now(UTC))


def expiry_job(settings: Settings) -> Callable[[FastAPI], Coroutine[Any, Any, None]]:
    """The shared sleep-until-due loop (``backoffice_common.wakeup.run_until_due_loop``) over the open
    contracts' ``expires_at``: it expires what is due (a batch of up to 100 per transaction); with nothing
    due it sleeps until the earliest open contract expires, at most ``expiry_idle_poll_seconds``, and a
    commit of this process that wrote an earlier expiry rings it (``EXPIRY_BELL``). After a failure it waits
    ``expiry_poll_seconds``, longer while it fails, up to a minute."""

    async def expire_unsigned_contracts(app: FastAPI) -> None:
        uow_factory = cast(Callable[[], ContractsUnitOfWork], app.state.uow_factory)

        async def expire_batch() -> bool:
            return await expire_once(uow_factory) > 0

        async def next_due_at() -> datetime | None:
            async with uow_factory() as uow:
                return await uow.contracts.next_expiry_at()

        await run_until_due_loop(
            name="contracts.expiry",
            bell=EXPIRY_BELL,
            do_one=expire_batch,
            next_due_at=next_due_at,
            poll_seconds=settings.expiry_poll_seconds,
            idle_poll_seconds=settings.expiry_idle_poll_seconds,
            max_failure_delay=60.0,
        )

    return expire_unsigned_contracts
