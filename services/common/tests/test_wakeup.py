"""LISTEN/NOTIFY wake-ups for background workers, against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import create_async_engine

from backoffice_common.db import asyncpg_dsn, make_session_factory
from backoffice_common.testing import private_database
from backoffice_common.wakeup import Wakeup, notify_after_commit


async def test_a_worker_is_woken_by_a_committed_notification_and_not_by_a_rolled_back_one() -> None:
    async with private_database() as url:
        wakeup = Wakeup(asyncpg_dsn(url), "work_ready")
        listener = asyncio.create_task(wakeup.run())
        engine = create_async_engine(url)
        sessions = make_session_factory(engine)
        try:
            await wakeup.wait(5)  # the first connection wakes once: work may predate the listener
            async with sessions() as session:
                await notify_after_commit(session, "work_ready")
                await session.rollback()
            started = time.monotonic()
            await wakeup.wait(1.5)
            assert time.monotonic() - started >= 1.4

            async def commit_later() -> None:
                await asyncio.sleep(0.3)
                async with sessions() as session:
                    await notify_after_commit(session, "work_ready")
                    await session.commit()

            writer = asyncio.create_task(commit_later())
            started = time.monotonic()
            await wakeup.wait(10)
            assert time.monotonic() - started < 5
            await writer
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            await engine.dispose()
