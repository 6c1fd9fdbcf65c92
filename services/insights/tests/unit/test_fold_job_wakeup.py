"""The fold job sleeps while nothing is handled and wakes when the consumer handles an event.

The job's database pass is replaced by a counter (``fold_batch``); the consumer is the real
``EventConsumer``, never started (its ``handled`` counter and ``progress`` bell need no broker)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI

from backoffice_common.consumer import EventConsumer
from backoffice_insights.jobs import FoldJob


class CountingFoldJob(FoldJob):
    def __init__(self, queued: list[int], **kwargs: Any) -> None:
        super().__init__(bands=[Decimal(1000)], batch_size=10, **kwargs)
        self.queued = queued

    async def fold_batch(self, app: FastAPI) -> int:
        return self.queued.pop(0) if self.queued else 0


def consumer() -> EventConsumer:
    return EventConsumer(
        service="insights",
        bootstrap_servers="127.0.0.1:1",
        group_id="g",
        topics=["t"],
        handlers={},
        uow_factory=lambda: None,  # type: ignore[arg-type,return-value]
        producer_factory=lambda: None,  # type: ignore[arg-type,return-value]
    )


async def eventually(check: Any, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not in time"
        await asyncio.sleep(0.01)


async def test_idle_job_sleeps_until_an_event_is_handled_and_then_catches_up() -> None:
    events = consumer()
    app: Any = SimpleNamespace(state=SimpleNamespace(consumer=events))
    job = CountingFoldJob([], interval=0.05, idle_interval=60)
    task = asyncio.create_task(job(app))
    try:
        await eventually(lambda: job.passes == 1)
        await asyncio.sleep(0.5)
        assert job.passes == 1  # ten passes at the old fixed 0.05 s pause; one with the bell
        events.handled += 3  # an event that queued nothing still moves ``caught_up``
        await eventually(lambda: job.caught_up == 3)
        assert job.passes == 2
        await asyncio.sleep(0.3)
        assert job.passes == 2
    finally:
        task.cancel()


async def test_a_pass_with_work_is_followed_by_another_and_no_handled_event_is_missed() -> None:
    events = consumer()
    app: Any = SimpleNamespace(state=SimpleNamespace(consumer=events))
    job = CountingFoldJob([4], interval=0.01, idle_interval=60)
    events.handled = 5
    task = asyncio.create_task(job(app))
    try:
        await eventually(lambda: job.passes == 2)  # four folded, then an empty pass
        assert job.caught_up == 5
        events.handled += 1
        events.handled += 1
        await eventually(lambda: job.caught_up == 7)
    finally:
        task.cancel()


async def test_the_idle_fallback_still_looks_at_the_queue() -> None:
    app: Any = SimpleNamespace(state=SimpleNamespace(consumer=consumer()))
    job = CountingFoldJob([], interval=0.01, idle_interval=0.2)
    task = asyncio.create_task(job(app))
    try:
        await asyncio.sleep(0.7)
        assert 2 <= job.passes <= 5
    finally:
        task.cancel()


async def test_without_a_consumer_yet_it_polls_at_the_short_interval() -> None:
    app: Any = SimpleNamespace(state=SimpleNamespace(consumer=None))
    job = CountingFoldJob([], interval=0.02, idle_interval=60)
    task = asyncio.create_task(job(app))
    try:
        await eventually(lambda: job.passes >= 5)
    finally:
        task.cancel()
