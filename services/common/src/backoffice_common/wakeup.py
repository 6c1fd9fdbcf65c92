"""Wake a background worker the moment a transaction commits work for it (PostgreSQL LISTEN/NOTIFY).

Writers call ``notify_after_commit(session, channel)`` in the transaction that creates the work;
PostgreSQL delivers the notification only if, and when, it commits. The worker waits with
``Wakeup.wait(timeout)``: it returns at once when notified and after ``timeout`` otherwise, so a
lost connection or a missed notification costs one poll interval, never the work.

``Bell`` wakes a worker of the same process; ``run_until_due_loop`` is the job over work with a due
time (approvals' and checklists' timers, contracts' expiries) that sleeps until the earliest is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.retry import Backoff

log = structlog.get_logger(__name__)


async def notify_after_commit(session: AsyncSession, channel: str) -> None:
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


class Wakeup:
    def __init__(self, dsn: str, channel: str) -> None:
        self._dsn = dsn
        self._channel = channel
        self._event = asyncio.Event()

    async def run(self) -> None:
        """Keep a listening connection open until cancelled, reconnecting after failures."""
        while True:
            try:
                conn: asyncpg.Connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("wakeup.connect_failed", channel=self._channel, error=repr(exc))
                await asyncio.sleep(2)
                continue
            try:
                await conn.add_listener(self._channel, self._on_notify)
                self._event.set()  # work may have been written while we were not listening
                while not conn.is_closed():
                    await asyncio.sleep(5)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("wakeup.listen_failed", channel=self._channel, error=repr(exc))
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), timeout=5)

    def _on_notify(self, *_: Any) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=timeout)
        self._event.clear()

    def clear(self) -> None:
        """Forget the rings so far: for a worker about to look at all its work. A notification reaches
        the listener only after its transaction committed, so what rang before this call is visible to
        every statement the worker runs after it; what commits later rings again."""
        self._event.clear()

    @property
    def rung(self) -> bool:
        """Whether a notification (or a reconnection) rang since the last ``wait`` or ``clear``."""
        return self._event.is_set()


class Bell:
    """Wakes a worker of this process early: a writer rings it after its transaction committed work
    the worker should look at sooner than it planned (a timer due earlier than the one it sleeps for).

    No ring is lost between the worker's look at its work and its wait: it takes ``mark()`` before
    looking and hands it to ``wait``, which returns at once if the bell rang since. A ring may say
    when its work falls due (``at``, a POSIX time): a sleeper that wakes up before then anyway is
    left asleep, so a stream of far-off timers costs the sleeping worker nothing."""

    def __init__(self) -> None:
        self._rings = 0
        self._waiters: list[tuple[asyncio.Future[None], float]] = []

    def mark(self) -> int:
        return self._rings

    def ring(self, *, at: float | None = None) -> None:
        self._rings += 1
        keep: list[tuple[asyncio.Future[None], float]] = []
        for waiter, deadline in self._waiters:
            if at is not None and deadline <= at:
                keep.append((waiter, deadline))
            elif not waiter.done():
                waiter.set_result(None)
        self._waiters = keep

    async def wait(self, timeout: float, *, since: int) -> bool:
        """Until the bell rings (True) or ``timeout`` seconds pass (False); True at once if it rang since ``since``."""
        if self._rings != since:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (waiter, time.time() + max(0.0, timeout))
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(waiter, timeout=max(0.0, timeout))
            return True
        except TimeoutError:
            return False
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)


MIN_WAIT_SECONDS = 0.05
"""A due time a moment away is slept for at least this long (no busy loop on a clock's rounding)."""


def until_due(due: datetime | None, *, poll_seconds: float, idle_poll_seconds: float, now: datetime) -> float:
    """Seconds to sleep before looking again: until ``due`` (the earliest work not yet done), at most
    ``max(poll_seconds, idle_poll_seconds)`` (the fallback, for work another instance wrote); None
    waits the fallback. Work already due that the look did not take is held by another instance (SKIP
    LOCKED) or failed: it is looked at again after ``poll_seconds``."""
    longest = max(poll_seconds, idle_poll_seconds)
    if due is None:
        return longest
    wait = (due - now).total_seconds()
    if wait <= 0:
        return poll_seconds
    return min(longest, max(MIN_WAIT_SECONDS, wait))


async def run_until_due_loop(
    *,
    name: str,
    bell: Bell,
    do_one: Callable[[], Awaitable[bool]],
    next_due_at: Callable[[], Awaitable[datetime | None]],
    poll_seconds: float,
    idle_poll_seconds: float,
    batch_size: int = 100,
    max_failure_delay: float | None = None,
) -> None:
    """A background job over work kept in the database with a due time (timers, expiries), until cancelled.

    It does due work (``do_one``: one unit, in its own transaction, True when it found some) up to
    ``batch_size`` times in a row; when there was none it sleeps until the earliest due time
    (``next_due_at``, see ``until_due``) or until ``bell`` rings. Writers of this process ring the bell
    after a commit that set a due time, with it (``Bell.ring(at=...)``), so the job is not late for work
    due sooner than what it sleeps for, and not woken for work due later. The bell's mark is taken
    before the look, so a ring between the look and the sleep is not lost. After a failure it waits
    ``poll_seconds``, doubling up to ``max_failure_delay`` (default: ``poll_seconds``) while it fails.
    """
    failures = Backoff(poll_seconds, max(poll_seconds, max_failure_delay or poll_seconds))
    while True:
        try:
            mark = bell.mark()
            done = 0
            while done < batch_size and await do_one():
                done += 1
            if done > 0:
                failures.reset()
                continue
            due = await next_due_at()
            failures.reset()
            now = datetime.now(UTC)
            await bell.wait(
                until_due(due, poll_seconds=poll_seconds, idle_poll_seconds=idle_poll_seconds, now=now), since=mark
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            delay = failures.next()
            log.warning(f"{name}.failed", error=repr(exc), retry_in=delay)
            await asyncio.sleep(delay)
