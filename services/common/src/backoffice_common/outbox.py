"""The outbox relay: publishes committed outbox rows to Kafka, in id order, then marks them sent.

Exactly one relay per service is active: it holds a PostgreSQL session-level advisory lock on its
own connection. If that process dies, the connection closes, the lock is released and a standby
takes over. The relay is woken by LISTEN/NOTIFY (the unit of work notifies on commit) and polls
slowly as a fallback. Rows are marked sent only after the broker acknowledged them, so a crash in
between publishes them again; consumers absorb the duplicate through their inbox.

Per-key order: rows are published in id order. Writers of one key serialise on that key's
aggregate row, so for one key id order is commit order. A transaction that commits late with a
lower id is still published: every pass reads all unsent rows, not rows above a high-water mark.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from opentelemetry.trace import Tracer

from backoffice_common import metrics
from backoffice_common.events import structured_headers
from backoffice_common.messaging import notify_channel
from backoffice_common.retry import Backoff
from backoffice_common.tracing import end_publish_span, start_publish_span, tracer_of

log = structlog.get_logger(__name__)

ProducerFactory = Callable[[], AIOKafkaProducer]


def advisory_lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock derived from a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class OutboxRelay:
    def __init__(
        self,
        *,
        dsn: str,
        service: str,
        producer_factory: ProducerFactory,
        batch_size: int = 500,
        poll_interval: float = 5.0,
        retention_hours: float = 72.0,
        max_backoff: float = 10.0,
        tracer: Tracer | None = None,
    ) -> None:
        self._dsn = dsn
        self._tracer = tracer or tracer_of(None)
        self._service = service
        self._producer_factory = producer_factory
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._retention_hours = retention_hours
        self._max_backoff = max_backoff
        self._lock_key = advisory_lock_key(f"outbox-relay:{service}")
        self._wake = asyncio.Event()
        self.is_leader = False
        self.last_error: str | None = None
        self.published_total = 0

    async def run(self) -> None:
        """Run until cancelled: wait for leadership, then publish; reconnect on database errors."""
        backoff = Backoff(0.5, max(0.5, self._max_backoff))
        while True:
            try:
                await self._run_once()
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = repr(exc)
                delay = backoff.next()
                log.warning("outbox.relay_error", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)

    async def _run_once(self) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self._dsn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                self.is_leader = False
                await asyncio.sleep(min(self._poll_interval, 2.0))
            self.is_leader = True
            metrics.OUTBOX_LEADER.labels(self._service).set(1)
            log.info("outbox.relay_leader", service=self._service)
            await conn.add_listener(notify_channel(self._service), self._on_notify)
            await self._publish_while_leader(conn)
        finally:
            self.is_leader = False
            metrics.OUTBOX_LEADER.labels(self._service).set(0)
            conn.terminate()

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def _publish_while_leader(self, conn: asyncpg.Connection) -> None:
        producer: AIOKafkaProducer | None = None
        backoff = Backoff(0.5, max(0.5, self._max_backoff))
        last_cleanup = 0.0
        try:
            while True:
                if producer is None:
                    producer = self._producer_factory()
                    try:
                        await producer.start()
                    except Exception:
                        await _stop_quietly(producer)
                        producer = None
                        raise
                try:
                    published = await self.publish_batch(conn, producer)
                    backoff.reset()
                    self.last_error = None
                except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
                    raise
                except Exception as exc:
                    # Kafka trouble: keep the lock, rebuild the producer, back off and retry.
                    self.last_error = repr(exc)
                    delay = backoff.next()
                    log.warning("outbox.publish_failed", error=repr(exc), retry_in=delay)
                    await _stop_quietly(producer)
                    producer = None
                    await asyncio.sleep(delay)
                    continue
                if time.monotonic() - last_cleanup > 600:
                    await self._delete_old_sent_rows(conn)
                    last_cleanup = time.monotonic()
                if published >= self._batch_size:
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval)
        finally:
            if producer is not None:
                await _stop_quietly(producer)

    async def publish_batch(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> int:
        """Publish up to one batch of unsent rows; returns how many were acknowledged and marked."""
        rows = await conn.fetch(
            "SELECT id, topic, key, value, headers FROM outbox_message WHERE sent_at IS NULL ORDER BY id LIMIT $1",
            self._batch_size,
        )
        metrics.OUTBOX_PENDING.labels(self._service).set(len(rows))
        if not rows:
            return 0
        futures = []
        spans = []
        for row in rows:
            headers = json.loads(row["headers"]) if isinstance(row["headers"], str) else row["headers"]
            span, headers = start_publish_span(self._tracer, headers or {}, topic=row["topic"], key=row["key"])
            spans.append(span)
            futures.append(
                await producer.send(
                    row["topic"],
                    value=bytes(row["value"]),
                    key=row["key"].encode() if row["key"] is not None else None,
                    headers=structured_headers(headers),
                )
            )
        results = await asyncio.gather(*futures, return_exceptions=True)
        for span, result in zip(spans, results, strict=True):
            end_publish_span(span, result)
        acked: list[int] = []
        failed_keys: set[str | None] = set()
        first_error: BaseException | None = None
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, BaseException):
                failed_keys.add(row["key"])
                first_error = first_error or result
            elif row["key"] not in failed_keys:
                acked.append(row["id"])
        if acked:
            await self.mark_sent(conn, acked)
            self.published_total += len(acked)
            metrics.OUTBOX_PUBLISHED.labels(self._service).inc(len(acked))
        if first_error is not None:
            raise first_error
        return len(acked)

    async def mark_sent(self, conn: asyncpg.Connection, ids: list[int]) -> None:
        await conn.execute("UPDATE outbox_message SET sent_at = now() WHERE id = ANY($1::bigint[])", ids)

    async def _delete_old_sent_rows(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            "DELETE FROM outbox_message WHERE sent_at < now() - make_interval(secs => $1)",
            self._retention_hours * 3600,
        )


async def _stop_quietly(producer: AIOKafkaProducer) -> None:
    try:
        await asyncio.wait_for(producer.stop(), timeout=10)
    except Exception as exc:
        log.debug("outbox.producer_stop_failed", error=repr(exc))
