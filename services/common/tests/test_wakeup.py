"""LISTEN/NOTIFY wake-ups for background workers, against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import create_async_engine

from backoffice_common.db import asyncpg_dsn, make_session_factory
from backoffice_common.testing import private_database
from backoffice_common.wakeup import Bell, Wakeup, notify_after_commit


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


async def test_a_bell_wakes_its_sleeper_at_once_and_keeps_a_ring_that_came_before_the_wait() -> None:
    bell = Bell()
    started = time.monotonic()
    assert not await bell.wait(0.2, since=bell.mark())  # nobody rang: the whole timeout
    assert time.monotonic() - started >= 0.15

    mark = bell.mark()
    bell.ring()  # rung between the sleeper's look at its work and its wait: not lost
    started = time.monotonic()
    assert await bell.wait(30, since=mark)
    assert time.monotonic() - started < 1

    mark = bell.mark()
    sleeper = asyncio.create_task(bell.wait(30, since=mark))
    await asyncio.sleep(0.05)
    assert not sleeper.done()
    bell.ring()
    assert await asyncio.wait_for(sleeper, 1)


async def test_a_ring_for_work_due_after_the_sleeper_wakes_anyway_leaves_it_asleep() -> None:
    bell = Bell()
    sleeper = asyncio.create_task(bell.wait(1.0, since=bell.mark()))
    await asyncio.sleep(0.05)
    bell.ring(at=time.time() + 3600)  # due in an hour: the sleeper looks again within a second anyway
    await asyncio.sleep(0.1)
    assert not sleeper.done()
    bell.ring(at=time.time() + 0.2)  # due before the sleeper's own deadline: woken
    assert await asyncio.wait_for(sleeper, 0.5)
