"""Exponential backoff for the loops that retry: the consumer, the outbox relay, topic provisioning.

    backoff = Backoff(initial=0.5, maximum=10.0)
    while True:
        try:
            await work()
            backoff.reset()
        except Exception as exc:
            delay = backoff.next()
            log.warning("thing.failed", error=repr(exc), retry_in=delay)
            await asyncio.sleep(delay)

A small class rather than tenacity: these loops run forever, reset after a success and log their
own lines; ``Backoff`` is only the arithmetic, so each loop keeps its behaviour and its log lines.
"""

from __future__ import annotations

import asyncio


class Backoff:
    """Delays ``initial, initial*factor, ...`` capped at ``maximum``; ``reset()`` starts again."""

    def __init__(self, initial: float, maximum: float, *, factor: float = 2.0) -> None:
        if initial <= 0 or maximum < initial or factor < 1:
            raise ValueError("Backoff needs 0 < initial <= maximum and factor >= 1")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self._current = initial

    @property
    def current(self) -> float:
        """The delay ``next()`` returns."""
        return self._current

    def next(self) -> float:
        """The delay to wait now; the following one grows by ``factor`` up to ``maximum``."""
        delay = self._current
        self._current = min(self._current * self.factor, self.maximum)
        return delay

    def reset(self) -> None:
        self._current = self.initial

    async def sleep(self) -> float:
        """Wait ``next()`` seconds; returns how long."""
        delay = self.next()
        await asyncio.sleep(delay)
        return delay


__all__ = ["Backoff"]
