"""The delivery workers' shared look (``jobs.deliveries.SharedLook``): joined only while in flight and only when no
ring came since it began; a failed or stopped look as the joining worker's own would be."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from backoffice_notifications.jobs.deliveries import CountingWakeup, SharedLook
from backoffice_notifications.repository.deliveries import DueTimes

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class SlowLook:
    """A look that waits for ``release`` and counts its calls; ``during`` runs while it is in flight."""

    def __init__(self, result: DueTimes | Exception, during: object = None) -> None:
        self.result = result
        self.calls = 0
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.during = during

    async def __call__(self, now: datetime) -> DueTimes:
        self.calls += 1
        self.started.set()
        if callable(self.during):
            self.during()
        await self.release.wait()
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


async def test_a_worker_woken_with_another_joins_its_look_in_flight_instead_of_sending_its_own() -> None:
    rings = [3]
    found = DueTimes(email=NOW, webhook=None, emails_due=1)
    look = SlowLook(found)
    shared = SharedLook(look, lambda: rings[0])
    own = asyncio.create_task(shared(NOW))
    await look.started.wait()
    assert shared.joinable()
    joined = asyncio.create_task(shared.join())
    await asyncio.sleep(0)
    look.release.set()
    assert await own is found
    assert await joined is found
    assert (look.calls, shared.shared) == (1, 1)
    assert not shared.joinable()  # done: the next look is the worker's own
    assert await shared.join() is None


async def test_a_ring_since_the_look_began_means_the_worker_looks_itself() -> None:
    # The delivery that rang may have committed after the look's statement was sent: that look need not see it.
    rings = [0]
    look = SlowLook(DueTimes(email=None, webhook=None), during=lambda: rings.__setitem__(0, 1))
    shared = SharedLook(look, lambda: rings[0])
    own = asyncio.create_task(shared(NOW))
    await look.started.wait()
    assert not shared.joinable()
    assert await shared.join() is None
    look.release.set()
    await own
    assert shared.shared == 0


async def test_a_failed_look_fails_for_the_joining_worker_too_and_a_stopped_one_leaves_it_to_look_itself() -> None:
    look = SlowLook(OSError("connection refused"))
    shared = SharedLook(look, lambda: 0)
    own = asyncio.create_task(shared(NOW))
    await look.started.wait()
    joined = asyncio.create_task(shared.join())
    await asyncio.sleep(0)
    look.release.set()
    with pytest.raises(OSError, match="connection refused"):
        await own
    with pytest.raises(OSError, match="connection refused"):
        await joined

    stopped = SlowLook(DueTimes(email=None, webhook=None))
    shared = SharedLook(stopped, lambda: 0)
    own = asyncio.create_task(shared(NOW))
    await stopped.started.wait()
    joined = asyncio.create_task(shared.join())
    await asyncio.sleep(0)
    own.cancel()
    with pytest.raises(asyncio.CancelledError):
        await own
    assert await joined is None  # not stopped itself: it looks on its own

    blocked = SlowLook(DueTimes(email=None, webhook=None))
    shared = SharedLook(blocked, lambda: 0)
    own = asyncio.create_task(shared(NOW))
    await blocked.started.wait()
    joined = asyncio.create_task(shared.join())
    await asyncio.sleep(0)
    joined.cancel()  # the joining worker stopped: it stops, the look goes on
    with pytest.raises(asyncio.CancelledError):
        await joined
    blocked.release.set()
    assert await own == DueTimes(email=None, webhook=None)


def test_the_counting_wakeup_counts_every_ring() -> None:
    wakeup = CountingWakeup("postgresql://unused", "channel")
    assert wakeup.rings == 0
    wakeup._on_notify()
    wakeup._event.set()  # as the listener does after (re)connecting
    assert wakeup.rings == 2
    assert wakeup.rung
