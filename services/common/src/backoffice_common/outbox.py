"""The outbox relay: publishes committed outbox rows to Kafka, in id order, then marks them sent.

Exactly one relay per service is active: it holds a PostgreSQL session-level advisory lock on its
own connection. If that process dies, the connection closes, the lock is released and a standby
takes over. The relay is woken by LISTEN/NOTIFY (the unit of work notifies on commit) and polls
slowly as a fallback. Rows are marked sent only after the broker acknowledged them, so a crash in
between publishes them again; consumers absorb the duplicate through their inbox.

Per-key order: rows are published in id order. Writers of one key serialise on that key's
aggregate row, so for one key id order is commit order. A transaction that commits late with a
lower id is still published: every pass reads all unsent rows, not rows above a high-water mark.

One unavailable partition must not hold up the others. Each key's rows are sent one after the
other (the next only once the broker acknowledged the previous one; consecutive rows of one topic
as one record batch, which the broker appends whole or not at all), and all keys side by side. A
key whose record fails is parked with backoff and retried from that record; its later rows are not
sent before it. Keys still waiting for the broker stay out of the next passes, so a partition whose
leader is gone delays only its own keys, and every acknowledged row is marked sent exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    IllegalStateError,
    InvalidProducerEpoch,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    ProducerFenced,
    UnknownProducerId,
)
from aiokafka.partitioner import DefaultPartitioner
from opentelemetry.trace import Tracer

from backoffice_common import metrics
from backoffice_common.events import structured_headers
from backoffice_common.messaging import notify_channel
from backoffice_common.tracing import end_publish_span, start_publish_span, tracer_of

log = structlog.get_logger(__name__)

ProducerFactory = Callable[[], AIOKafkaProducer]

# Errors after which only a new producer can send again.
_PRODUCER_FATAL = (
    ProducerClosed,
    IllegalStateError,
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerEpoch,
    ProducerFenced,
)
_PARTITIONER = DefaultPartitioner()
"""The partition of a key, as ``AIOKafkaProducer.send`` chooses it by default (murmur2 of the key)."""
_NO_KEY = "\x00"  # rows without a key have no order to keep: each is its own group (NUL is never in a key)

BACKLOG_SQL = (
    "SELECT count(*) AS unsent, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest_age"
    " FROM outbox_message WHERE sent_at IS NULL"
)


MARK_SQL = "UPDATE outbox_message SET sent_at = now() WHERE id = ANY($1::bigint[])"
FETCH_SQL = (
    "SELECT id, topic, key, value, headers FROM outbox_message"
    " WHERE sent_at IS NULL AND (key IS NULL OR key <> ALL($2::text[])) AND id <> ALL($3::bigint[])"
    " ORDER BY id LIMIT $1"
)
RELAY_STATEMENT = (
    "WITH marked AS (UPDATE outbox_message SET sent_at = now() WHERE id = ANY($1::bigint[]))"
    " SELECT NULL::bigint AS id, NULL::text AS topic, NULL::text AS key, NULL::bytea AS value,"
    " NULL::jsonb AS headers, count(*) AS unsent,"
    " EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest_age"
    " FROM outbox_message WHERE sent_at IS NULL AND id <> ALL($1::bigint[]) HAVING $5::boolean"
    " UNION ALL (SELECT id, topic, key, value, headers, NULL, NULL FROM outbox_message"
    " WHERE sent_at IS NULL AND (key IS NULL OR key <> ALL($3::text[])) AND id <> ALL($4::bigint[])"
    " AND id <> ALL($1::bigint[]) ORDER BY id LIMIT $2)"
)
"""A relay pass in one statement: mark the acknowledged ids ($1) sent; the backlog without them (as
the rows will be once this statement commits) when $5; the next $2 unsent rows in id order, not of
the keys in flight or parked ($3) nor the keyless ids in flight ($4) nor those just marked (the
statement's snapshot still shows them unsent). The backlog row is the one whose ``id`` is NULL. For a
pass with only one of the three to do, the plain statement (``MARK_SQL``, ``FETCH_SQL``,
``BACKLOG_SQL``): the combined one costs the server more than any one of them alone."""


@dataclass(frozen=True)
class _Pass:
    room: int
    skip_keys: list[str]
    skip_ids: list[int]
    backlog: bool


@dataclass(frozen=True)
class _PassResult:
    rows: list[asyncpg.Record]
    backlog: Backlog | None


@dataclass(frozen=True)
class Backlog:
    """Unsent outbox rows: how many, and how long the oldest has waited (None when there is none)."""

    unsent: int
    oldest_age_seconds: float | None


async def read_backlog(conn: asyncpg.Connection) -> Backlog:
    row = await conn.fetchrow(BACKLOG_SQL)
    assert row is not None
    return Backlog(int(row["unsent"]), row["oldest_age"])


def report_backlog(service: str, backlog: Backlog) -> None:
    metrics.OUTBOX_PENDING.labels(service).set(backlog.unsent)
    metrics.OUTBOX_OLDEST_AGE.labels(service).set(backlog.oldest_age_seconds or 0.0)


@dataclass
class _Outcome:
    acked: list[int]
    error: BaseException | None


@dataclass
class _Chain:
    """The rows of one key in flight, and the task sending them."""

    ids: list[int]
    task: asyncio.Task[_Outcome] = field(init=False)


def _by_key(rows: list[asyncpg.Record]) -> dict[str, list[asyncpg.Record]]:
    groups: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        key = row["key"] if row["key"] is not None else f"{_NO_KEY}{row['id']}"
        groups.setdefault(key, []).append(row)
    return groups


def advisory_lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock derived from a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class OutboxRelay:
    IDLE_POLL_FACTOR = 8
    """How much longer than ``poll_interval`` the fallback poll may wait while it keeps finding nothing."""

    def __init__(
        self,
        *,
        dsn: str,
        service: str,
        producer_factory: ProducerFactory,
        batch_size: int = 500,
        poll_interval: float = 5.0,
        max_backoff: float = 10.0,
        producer_reset_seconds: float = 60.0,
        tracer: Tracer | None = None,
    ) -> None:
        self._dsn = dsn
        self._tracer = tracer or tracer_of(None)
        self._service = service
        self._producer_factory = producer_factory
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._producer_reset_seconds = producer_reset_seconds
        self._lock_key = advisory_lock_key(f"outbox-relay:{service}")
        self._wake = asyncio.Event()
        self.is_leader = False
        self.last_error: str | None = None
        self.published_total = 0
        self._chains: dict[str, _Chain] = {}
        self._parked: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._fatal_error = False
        self._fetch_due = True
        self._deferred = False
        self._last_ack = time.monotonic()
        self._backlog_reported = 0.0
        self._unmarked: list[int] = []
        self._unmarked_since = 0.0  # when the oldest of _unmarked was acknowledged
        self._idle_polls = 0

    BACKLOG_INTERVAL = 1.0
    """Seconds between two readings of the backlog (for the metrics) while the relay works."""
    MARK_WAIT = 2.0
    """Seconds acknowledged rows wait at most for a fetch to carry their mark (``RELAY_STATEMENT``) before they
    get a statement of their own (with the backlog reading). A crash in between publishes them again, as a
    crash between the acknowledgement and the mark always did; consumers absorb the repeat (their inbox)."""

    async def run(self) -> None:
        """Run until cancelled: wait for leadership, then publish; reconnect on database errors."""
        backoff = 0.5
        while True:
            try:
                await self._run_once()
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = repr(exc)
                log.warning("outbox.relay_error", error=repr(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)

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
        self._fetch_due = True
        self._wake.set()

    async def _publish_while_leader(self, conn: asyncpg.Connection) -> None:
        producer: AIOKafkaProducer | None = None
        backoff = 0.5
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
                    self._last_ack = time.monotonic()
                self._wake.clear()  # a notification or a finished key from now on wakes the wait below
                await self.publish_batch(conn, producer)
                if self._producer_is_broken():
                    # No acknowledgement for a long time, or an error only a new producer clears
                    # (its sender died, the broker forgot its producer id): start over with a new one.
                    log.warning("outbox.producer_reset", error=self.last_error, retry_in=backoff)
                    await self._drain(conn, producer)
                    producer = None
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                backoff = 0.5
                if self._fetch_due and self._room() > 0:
                    continue
                poll = self._next_wait()
                marks = self._marks_wait()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=poll if marks is None else min(poll, marks))
                    self._idle_polls = 0
                except TimeoutError:
                    if marks is None or poll <= marks:
                        self._fetch_due = True  # the slow poll: look again even without a notification
                        self._idle_polls += 1
                    # else the wake-up for the marks: the pass marks them (and reads the backlog), no fetch
        finally:
            if producer is not None:
                await self._drain(conn, producer)

    async def publish_batch(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> int:
        """One pass: mark what the broker acknowledged since the last pass, then send what is unsent.

        Returns how many rows this pass marked sent. Rows are sent one key after the other within
        the key and all keys side by side: a key whose partition is unavailable waits (its later
        rows are not sent before the failed one), every other key keeps flowing, and each
        acknowledged row is marked sent exactly once.

        The pass's database work is **one** statement: the marking of the rows acknowledged since the
        last pass, the next page of unsent rows when a fetch is due, and the backlog for the metrics
        when a second has passed since the last reading (``RELAY_STATEMENT`` when more than one of
        them is due). A pass with nothing to do sends nothing, and neither does one with only acknowledged
        rows to mark, until ``MARK_WAIT`` passed without a fetch to carry them.
        """
        self._collect_acknowledged()  # kept until a statement marked them (a failed one is redone)
        acked = list(self._unmarked)
        fetch = self._fetch_due and self._room() > 0
        now = time.monotonic()
        backlog = now - self._backlog_reported >= self.BACKLOG_INTERVAL
        if not fetch and (now - self._unmarked_since < self.MARK_WAIT if acked else not backlog):
            # Acknowledged rows wait (MARK_WAIT at most; ``_marks_wait`` wakes the relay) for a fetch to carry
            # their mark, and the backlog reading waits with them (it would count them unsent).
            return 0
        now = time.monotonic()
        room = self._room() if fetch else 0
        busy_keys = [key for key in self._chains if not key.startswith(_NO_KEY)]
        parked = [key for key, until in self._parked.items() if until > now]
        busy_ids = [i for key, chain in self._chains.items() if key.startswith(_NO_KEY) for i in chain.ids]
        if fetch:
            self._fetch_due = False
        pass_ = _Pass(room=room, skip_keys=busy_keys + parked, skip_ids=busy_ids, backlog=backlog)
        if acked:
            result = await self.mark_sent(conn, acked, pass_=pass_)
        else:
            result = await self._run_pass(conn, [], pass_)
        self._unmarked = []
        if backlog:
            self._backlog_reported = time.monotonic()
            report_backlog(self._service, result.backlog or Backlog(0, None))
        if not fetch:
            return len(acked)
        rows = result.rows
        # A full page may have more behind it; rows of a busy or parked key may be waiting behind
        # that key: look again at once, or as soon as such a key is free.
        if rows:
            self._idle_polls = 0
        if len(rows) >= room:
            self._fetch_due = True
        self._deferred = bool(busy_keys or parked or busy_ids)
        groups = _by_key(rows)
        keep = {*groups, *parked, *self._chains}
        self._failures = {key: n for key, n in self._failures.items() if key in keep}
        for key, key_rows in groups.items():
            chain = _Chain([row["id"] for row in key_rows])
            chain.task = asyncio.create_task(self._publish_in_order(producer, key_rows), name=f"outbox-key-{key}")
            chain.task.add_done_callback(self._on_chain_done)
            self._chains[key] = chain
        return len(acked)

    async def _publish_in_order(self, producer: AIOKafkaProducer, rows: list[asyncpg.Record]) -> _Outcome:
        """Send one key's rows one after the other; stop at the first that is not acknowledged.

        Consecutive rows of one topic (a unit of work's events of one request: a decision and the
        approval it completes, a signature and the execution) go out as **one** record batch, which
        the broker appends whole or not at all: the later ones no longer wait for the first one's
        acknowledgement (a produce round trip each), and the key's order holds as before."""
        acked: list[int] = []
        at = 0
        while at < len(rows):
            run = 1
            while at + run < len(rows) and rows[at + run]["topic"] == rows[at]["topic"]:
                run += 1
            if run == 1 or not hasattr(producer, "create_batch"):  # (a producer double sends one by one)
                sent, error = await self._send_one(producer, rows[at])
            else:
                sent, error = await self._send_batch(producer, rows[at : at + run])
            acked.extend(sent)
            if error is not None:
                return _Outcome(acked, error)
            at += len(sent)
        return _Outcome(acked, None)

    async def _send_one(
        self, producer: AIOKafkaProducer, row: asyncpg.Record
    ) -> tuple[list[int], BaseException | None]:
        headers = json.loads(row["headers"]) if isinstance(row["headers"], str) else row["headers"]
        span, headers = start_publish_span(self._tracer, headers or {}, topic=row["topic"], key=row["key"])
        try:
            delivery = await producer.send(
                row["topic"],
                value=bytes(row["value"]),
                key=row["key"].encode() if row["key"] is not None else None,
                headers=structured_headers(headers),
            )
            await delivery
        except Exception as exc:
            end_publish_span(span, exc)
            return [], exc
        end_publish_span(span, None)
        return [row["id"]], None

    async def _send_batch(
        self, producer: AIOKafkaProducer, rows: list[asyncpg.Record]
    ) -> tuple[list[int], BaseException | None]:
        """The first of ``rows`` (one topic, one key) and as many after it as fit one record batch, as one
        batch to the partition ``send`` would choose for the key; the ids sent, or the error."""
        topic, key = rows[0]["topic"], rows[0]["key"]
        key_bytes = key.encode() if key is not None else None
        spans: list[Any] = []
        try:
            batch = producer.create_batch()
            for row in rows:
                headers = json.loads(row["headers"]) if isinstance(row["headers"], str) else row["headers"]
                span, headers = start_publish_span(self._tracer, headers or {}, topic=topic, key=key)
                value = bytes(row["value"])
                if (
                    batch.append(key=key_bytes, value=value, timestamp=None, headers=structured_headers(headers))
                    is None
                ):
                    end_publish_span(span, None)  # the batch is full: this row starts the next one
                    break
                spans.append(span)
            if not spans:  # a row larger than a batch: on its own
                return await self._send_one(producer, rows[0])
            batch.close()
            partitions = sorted(await producer.partitions_for(topic))  # as send() lists them
            partition = _PARTITIONER(key_bytes, partitions, partitions)
            delivery = await producer.send_batch(batch, topic, partition=partition)
            await delivery
        except Exception as exc:
            for span in spans:
                end_publish_span(span, exc)
            return [], exc
        for span in spans:
            end_publish_span(span, None)
        return [row["id"] for row in rows[: len(spans)]], None

    def _collect_acknowledged(self) -> None:
        """The rows the broker acknowledged since the last call, to be marked; counted published now (the
        mark may wait for a fetch to carry it: ``MARK_WAIT``)."""
        acked = self._reap()
        if not acked:
            return
        if not self._unmarked:
            self._unmarked_since = time.monotonic()
        self._unmarked.extend(acked)
        self.published_total += len(acked)
        metrics.OUTBOX_PUBLISHED.labels(self._service).inc(len(acked))

    def _on_chain_done(self, _: asyncio.Task[_Outcome]) -> None:
        self._wake.set()

    def _reap(self) -> list[int]:
        """Collect finished keys: the ids of their acknowledged rows (for the pass to mark sent), and
        park the keys that failed."""
        done = {key: chain for key, chain in self._chains.items() if chain.task.done()}
        if not done:
            return []
        acked: list[int] = []
        now = time.monotonic()
        for key, chain in done.items():
            outcome = _Outcome([], asyncio.CancelledError()) if chain.task.cancelled() else chain.task.result()
            acked.extend(outcome.acked)
            if outcome.error is None:
                self._failures.pop(key, None)
                continue
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            self._parked[key] = now + min(0.5 * 2 ** (failures - 1), self._max_backoff)
            self.last_error = repr(outcome.error)
            if isinstance(outcome.error, _PRODUCER_FATAL):
                self._fatal_error = True
            log.warning("outbox.publish_failed", key=key, error=repr(outcome.error), attempt=failures)
        if acked:
            self._last_ack = now
            if not self._failures:
                self.last_error = None
        for key in done:
            del self._chains[key]
        self._parked = {key: until for key, until in self._parked.items() if until > now}
        if self._deferred:
            self._fetch_due = True
        return acked

    def _room(self) -> int:
        return self._batch_size - sum(len(chain.ids) for chain in self._chains.values())

    def _producer_is_broken(self) -> bool:
        if self._fatal_error:
            return True
        stuck = self._failures and time.monotonic() - self._last_ack > self._producer_reset_seconds
        return bool(stuck)

    def _next_wait(self) -> float:
        """Until the next poll, or the end of the earliest parking, whichever is sooner.

        The poll is only the fallback of LISTEN/NOTIFY (a notification lost with a connection): while
        polls keep finding nothing to do, each waits twice as long as the one before, up to
        ``IDLE_POLL_FACTOR`` times the poll interval, so an idle service costs next to nothing. A
        notification or a poll that found work brings the interval back down."""
        interval = self._poll_interval * min(1 << min(self._idle_polls, 10), self.IDLE_POLL_FACTOR)
        if not self._parked:
            return interval
        return max(0.05, min(interval, min(self._parked.values()) - time.monotonic()))

    def _marks_wait(self) -> float | None:
        """Until the acknowledged rows still unmarked are due a statement of their own (``MARK_WAIT`` after the
        oldest one's acknowledgement); None when there are none."""
        if not self._unmarked:
            return None
        return max(0.0, self._unmarked_since + self.MARK_WAIT - time.monotonic())

    async def _drain(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> None:
        """Stop the producer (which settles every pending send) and mark what was acknowledged."""
        await _stop_quietly(producer)
        tasks = [chain.task for chain in self._chains.values()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(Exception):
            self._collect_acknowledged()
            acked, self._unmarked = self._unmarked, []
            if acked:
                await self.mark_sent(conn, acked, pass_=_Pass(room=0, skip_keys=[], skip_ids=[], backlog=False))
        self._chains.clear()
        self._parked.clear()
        self._failures.clear()
        self._fatal_error = False
        self._fetch_due = True

    async def mark_sent(self, conn: asyncpg.Connection, ids: list[int], *, pass_: _Pass) -> _PassResult:
        """Mark ``ids`` sent, in the statement of the pass (``pass_``: what else it reads)."""
        return await self._run_pass(conn, ids, pass_)

    async def _run_pass(self, conn: asyncpg.Connection, ids: list[int], pass_: _Pass) -> _PassResult:
        """The pass's statement: the plain one when only one thing is due, ``RELAY_STATEMENT`` for more."""
        due = bool(ids) + bool(pass_.room) + pass_.backlog
        if due == 0:
            return _PassResult([], None)
        if due == 1 and ids:
            await conn.execute(MARK_SQL, ids)
            return _PassResult([], None)
        if due == 1 and pass_.room:
            return _PassResult(await conn.fetch(FETCH_SQL, pass_.room, pass_.skip_keys, pass_.skip_ids), None)
        if due == 1:
            return _PassResult([], await read_backlog(conn))
        records = await conn.fetch(
            RELAY_STATEMENT, ids, pass_.room, pass_.skip_keys, pass_.skip_ids if pass_.room else [], pass_.backlog
        )
        backlog: Backlog | None = None
        rows: list[asyncpg.Record] = []
        for record in records:
            if record["id"] is None:
                backlog = Backlog(int(record["unsent"]), record["oldest_age"])
            else:
                rows.append(record)
        return _PassResult(rows, backlog)


async def _stop_quietly(producer: AIOKafkaProducer) -> None:
    try:
        await asyncio.wait_for(producer.stop(), timeout=10)
    except Exception as exc:
        log.debug("outbox.producer_stop_failed", error=repr(exc))
