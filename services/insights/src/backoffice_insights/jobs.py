"""The fold job of the insights service, and the business metrics' reading taken at a scrape."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from decimal import Decimal

import structlog
from fastapi import FastAPI

from backoffice_insights.metrics import COLLECTOR, Reading
from backoffice_insights.repository.readings import read
from backoffice_insights.service.ingest import FoldCache, fold_pending

log = structlog.get_logger(__name__)


class FoldJob:
    """Drains the fold queue: a batch of requests per transaction, as fast as they come while there is
    work, then a pause of ``interval`` seconds (which also lets a burst of one request's events be
    folded once rather than once per event).

    Once the queue is drained it sleeps until this process's consumer handles another event (its
    ``progress`` bell: only handled events fill the queue) and then pauses ``interval`` as before, or
    at most ``idle_interval`` seconds (the queue is shared by replicas, whose consumers ring no bell
    here, and a failed fold waits for a later pass). An idle service looks at its queue once per
    ``idle_interval`` instead of twice a second.

    ``caught_up`` is the number of events the consumer had handled when a pass found the queue
    empty: every one of them is folded (tests wait on it; several replicas share the queue).
    """

    def __init__(self, *, bands: list[Decimal], batch_size: int, interval: float, idle_interval: float = 30.0) -> None:
        self.bands = bands
        self.batch_size = batch_size
        self.interval = interval
        self.idle_interval = max(interval, idle_interval)
        self.caught_up = 0
        self.passes = 0
        self.cache = FoldCache()  # what this process wrote last per request: a pass writes only what changed
        self.__name__ = "fold"

    async def __call__(self, app: FastAPI) -> None:
        while True:
            try:
                consumer = app.state.consumer
                mark = consumer.progress.mark() if consumer is not None else 0
                handled = consumer.handled if consumer is not None else 0
                claimed = await self.fold_batch(app)
                self.passes += 1
                if claimed == 0:
                    self.caught_up = handled
                if claimed < self.batch_size:
                    if consumer is not None and claimed == 0:
                        # The mark was taken before ``handled`` was read: an event handled since rings at once.
                        await consumer.progress.wait(self.idle_interval, since=mark)
                    await asyncio.sleep(self.interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("insights.fold_batch_failed", error=repr(exc))
                await self.fold_one_by_one(app)
                await asyncio.sleep(self.interval)

    async def fold_batch(self, app: FastAPI) -> int:
        async with app.state.uow_factory() as uow:
            folded = await fold_pending(uow=uow, bands=self.bands, limit=self.batch_size, cache=self.cache)
            return folded.claimed

    async def fold_one_by_one(self, app: FastAPI) -> None:
        """After a failed batch: fold its requests one per transaction, so one bad request is isolated."""
        try:
            async with app.state.uow_factory() as uow:
                request_ids = await uow.fold_queue.peek(self.batch_size)
        except Exception as exc:
            log.warning("insights.fold_queue_unreadable", error=repr(exc))
            return
        for request_id in request_ids:
            try:
                async with app.state.uow_factory() as uow:
                    await fold_pending(uow=uow, bands=self.bands, limit=1, only=request_id)
            except Exception as exc:
                log.error("insights.fold_failed", request_id=request_id, error=repr(exc))
                await self.mark_failed(app, request_id, repr(exc))

    async def mark_failed(self, app: FastAPI, request_id: str, error: str) -> None:
        try:
            async with app.state.uow_factory() as uow:
                pending = await uow.fold_queue.claim_one(request_id)
                if pending is not None:
                    await uow.fold_queue.failed(pending, error)
                    await uow.commit()
        except Exception as exc:
            log.warning("insights.fold_mark_failed", request_id=request_id, error=repr(exc))


class MetricsReading:
    """The business metrics' reading, taken when ``/metrics`` is scraped (``app.state.before_metrics``)
    rather than by a job every ``interval`` seconds whether anyone scrapes or not: a scrape finding a
    reading older than ``interval`` reads the database again before it answers (one read at a time,
    at most ``timeout`` seconds; after a failure or a timeout it answers with the reading it has). A
    platform nobody scrapes reads nothing, and a scrape's figures are at most ``interval`` old."""

    def __init__(self, app: FastAPI, *, interval: float, timeout: float = 5.0) -> None:
        self.app = app
        self.interval = interval
        self.timeout = timeout
        self.taken_at = -float("inf")
        self.reads = 0
        self._lock = asyncio.Lock()

    async def __call__(self) -> None:
        if time.monotonic() - self.taken_at < self.interval:
            return
        async with self._lock:
            if time.monotonic() - self.taken_at < self.interval:
                return  # read by the scrape this one waited for
            started = time.monotonic()
            try:
                COLLECTOR.reading = await asyncio.wait_for(self._read(), self.timeout)
                self.taken_at = started
            except Exception as exc:
                log.warning("insights.metrics_refresh_failed", error=repr(exc))

    async def _read(self) -> Reading:
        self.reads += 1
        async with self.app.state.session_factory() as session:
            return await read(session, now=datetime.now(UTC))
