"""The shared sleep-until-due loop of the timer and expiry jobs (``wakeup.run_until_due_loop``).

Pure asyncio: the work is a list of due times in memory, done by ``do_one`` and looked at by
``next_due_at`` as the services' repositories do in PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from backoffice_common.wakeup import MIN_WAIT_SECONDS, Bell, run_until_due_loop, until_due

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_until_due_sleeps_until_the_earliest_due_time_within_the_poll_bounds() -> None:
    def wait(due: datetime | None) -> float:
        return until_due(due, poll_seconds=5, idle_poll_seconds=60, now=NOW)

    assert wait(None) == 60  # nothing to do: the fallback
    assert wait(NOW + timedelta(hours=3)) == 60  # far off: the fallback bounds it
    assert wait(NOW + timedelta(seconds=20)) == 20
    assert wait(NOW + timedelta(milliseconds=1)) == MIN_WAIT_SECONDS
    assert wait(NOW - timedelta(seconds=1)) == 5  # due but not taken (held elsewhere): the short poll
    assert until_due(None, poll_seconds=5, idle_poll_seconds=1, now=NOW) == 5  # never below the short poll


class Work:
    """Due times in memory; ``looks`` counts the idle job's looks at the earliest one."""

    def __init__(self) -> None:
        self.due: list[datetime] = []
        self.done: list[float] = []
        self.looks = 0
        self.failures = 0

    async def do_one(self) -> bool:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the database is away")
        now = datetime.now(UTC)
        ready = [d for d in self.due if d <= now]
        if not ready:
            return False
        self.due.remove(min(ready))
        self.done.append(time.monotonic())
        return True

    async def next_due_at(self) -> datetime | None:
        self.looks += 1
        return min(self.due, default=None)


async def _running(work: Work, bell: Bell, **kwargs: float) -> asyncio.Task[None]:
    settings = {"poll_seconds": 0.2, "idle_poll_seconds": 30.0} | kwargs
    task = asyncio.create_task(
        run_until_due_loop(
            name="test",
            bell=bell,
            do_one=work.do_one,
            next_due_at=work.next_due_at,
            batch_size=2,
            **settings,  # type: ignore[arg-type]
        )
    )
    await asyncio.sleep(0.1)
    return task


async def _stopped(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_the_loop_sleeps_until_the_earliest_due_work_and_does_it_then() -> None:
    work, bell = Work(), Bell()
    work.due.append(datetime.now(UTC) + timedelta(seconds=0.6))
    started = time.monotonic()
    task = await _running(work, bell)
    try:
        await asyncio.sleep(1.2)
        assert len(work.done) == 1
        assert 0.5 <= work.done[0] - started < 1.1  # at its due time, though the fallback is 30 s
        assert work.looks <= 3  # it slept, it did not poll
    finally:
        await _stopped(task)


async def test_a_ring_wakes_the_idle_loop_only_for_work_due_before_it_would_wake_anyway() -> None:
    work, bell = Work(), Bell()
    task = await _running(work, bell)
    try:
        looks = work.looks
        work.due.append(datetime.now(UTC) + timedelta(hours=1))
        bell.ring(at=(datetime.now(UTC) + timedelta(hours=1)).timestamp())  # later than its 30 s fallback
        await asyncio.sleep(0.3)
        assert work.looks == looks  # left asleep

        due = datetime.now(UTC)
        work.due.append(due)
        bell.ring(at=due.timestamp())
        await asyncio.sleep(0.5)
        assert len(work.done) == 1  # woken at once, not after the 30 s fallback
        assert work.looks > looks
    finally:
        await _stopped(task)


async def test_more_due_work_than_a_batch_is_all_done_and_a_failure_is_retried_after_the_short_poll() -> None:
    work, bell = Work(), Bell()
    work.due.extend(datetime.now(UTC) - timedelta(seconds=k) for k in range(5))
    work.failures = 1
    started = time.monotonic()
    task = await _running(work, bell, poll_seconds=0.3)
    try:
        await asyncio.sleep(1.0)
        assert len(work.done) == 5  # batches of 2, one after the other
        assert work.done[0] - started >= 0.25  # the first look failed: retried after the short poll
        assert work.due == []
    finally:
        await _stopped(task)
