"""The idempotent consumer: event -> handler inside one unit of work, inbox check in the same transaction.

The partitions are handled side by side, each in order (one request's events share a key, hence a
partition): the poll loop hands each partition's records to its lane and polls again at once.
Offsets are committed only after the handlers' transactions committed, so a crash redelivers and
the inbox absorbs the repeat. The offset commits are coalesced: at most one every
``commit_interval`` seconds (or sooner after ``COMMIT_MAX_RECORDS`` records or a dead letter), and
always before partitions are given up in a rebalance and before the consumer stops; so a crash
redelivers at most that tail, which the inbox absorbs as before.

A handler that keeps failing is retried with backoff, then its record goes to ``<topic>.dlq`` with
the error and the consumer moves on; an undecodable record goes to the DLQ at once. A watchdog
restarts the Kafka consumer when it has lag but makes no progress (aiokafka can stay stuck after a
broker restart) and reports it through ``health()``, as it reports a consumer that cannot even
measure its lag (the cluster is unreachable).

With ``batch_transactions`` (for a read model that replays whole topics, such as insights), the
records of one partition's poll are handled in **one** transaction: each is claimed in the inbox and
handled in order, then one commit. A batch in which anything fails (an undecodable record, a
handler's error, a permanent one) is rolled back whole and handled again record by record, each in
its own transaction, with the retries and the dead-lettering above; so the outcome is the same, only
the number of commits differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiokafka
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from opentelemetry.trace import Tracer

from backoffice_common import metrics
from backoffice_common.db import is_database_unavailable
from backoffice_common.events import CloudEvent, EnvelopeError, PermanentEventError
from backoffice_common.kafka import dlq_topic
from backoffice_common.retry import Backoff
from backoffice_common.tracing import consume_span, tracer_of
from backoffice_common.uow import UnitOfWork
from backoffice_common.wakeup import Bell

log = structlog.get_logger(__name__)

Handler = Callable[[CloudEvent, Any], Awaitable[str | None]]
"""``handler(event, uow)``: the uow is the service's own ``UnitOfWork`` subclass (``ServiceSpec.uow_class``);
the returned string, if any, is stored as the inbox outcome."""
"""Handles one event inside the consumer's unit of work. A returned string is stored as the inbox row's
outcome; ``None`` keeps the one the handler set with ``uow.set_outcome(event=..., outcome=...)``, if any,
else the inbox default ``handled``."""


@dataclass
class ConsumerHealth:
    running: bool
    stalled: bool
    lag: int | None
    seconds_since_progress: float
    last_error: str | None
    failed_probes: int = 0


class EventConsumer:
    FETCH_MAX_WAIT_MS = 20000
    """How long the broker may hold an empty fetch: a fetch returns at the first record
    (fetch_min_bytes=1), so this only sets how often an idle consumer asks. The broker answers one
    request per connection at a time, so a held fetch also holds what else is sent on that
    connection: the watchdog's lag probe has a client of its own (``_probe``) for that reason, but
    the metadata requests and the first fetch after a rebalance still wait behind it: a partition
    that a rebalance moves to this consumer (another member left) may wait up to this long before
    its first fetch (measured: in one trial of six at 20 s, three of five at 5 s; nothing otherwise).
    ``CONSUMER_FETCH_MAX_WAIT_MS`` sets it per service (5000 for the faster failover)."""
    FETCHER_FALLBACK_MS = 5000
    """How often aiokafka's background fetcher looks again without a reason (``consumer_timeout_ms``,
    aiokafka: 0.2 s). Everything that lets it send a fetch wakes it at once (a fetch answered, records
    consumed, a seek, a new assignment, a metadata update, a resumed partition), so this is a
    fallback only; at five looks a second it was the second-largest part of an idle service's CPU."""
    METADATA_MAX_AGE_MS = 300000
    POLL_TIMEOUT_MS = 10000
    """How long one ``getmany`` waits for records before the poll loop asks again: it returns at the
    first record, so this only sets how often an idle loop wakes up (and how soon an error of the
    group coordinator that ``getmany`` raises is seen)."""
    SESSION_TIMEOUT_MS = 15000
    """A member that stopped heartbeating (killed, cut off) leaves the group after this long, and its
    partitions move to the others then; a member that stops cleanly leaves at once (LeaveGroup). Also
    aiokafka's rebalance timeout: how long a rebalance waits for the members to rejoin."""
    HEARTBEAT_INTERVAL_MS = 5000
    """A third of the session (Kafka's ratio); a rebalance reaches a member at its next heartbeat, so
    a joining instance gets its partitions within about this long."""
    COMMIT_INTERVAL_SECONDS = 2.0
    """Offsets handled are committed at most this long after the first of them (one OffsetCommit, a
    write to ``__consumer_offsets``, for every partition handled since): at a few events a second a
    commit after every poll was one request per event. A crash redelivers at most this tail."""
    COMMIT_MAX_RECORDS = 1000
    """...or as soon as this many records wait for their commit (a replay redelivers at most that many)."""
    LANE_MAX_RECORDS = 1000
    """A partition with this many records polled and not yet handled is paused until its lane took them."""
    FETCHED_ENDS_MARGIN_MS = 5000
    """The watchdog measures the lag from the end offsets the consumer's own fetches brought (each fetch
    answer carries every partition's last stable offset) when every assigned partition was answered
    within ``fetch_max_wait_ms`` plus this margin (and within the stall time): a fetcher that fetches
    is answered at once when a record arrives, and at least every long poll at rest. Otherwise (a
    fetcher that stopped fetching, a partition paused or not fetched yet) it asks the lag probe's
    ListOffsets as before."""
    LINGER_MIN_BYTES = 1 << 20
    """With a fetch linger, what the broker gathers before it answers early: a replay or a burst larger than
    this is answered at once, in fetches of this size, instead of after the linger."""
    REVOKE_WAIT_SECONDS = 10.0
    """How long a rebalance waits for the batch in hand before the handled offsets are committed
    (less than the rebalance timeout, ``SESSION_TIMEOUT_MS``, or the member would be dropped)."""

    def __init__(
        self,
        *,
        service: str,
        bootstrap_servers: str,
        group_id: str,
        topics: list[str],
        handlers: Mapping[str, Handler],
        uow_factory: Callable[[], UnitOfWork],
        producer_factory: Callable[[], AIOKafkaProducer],
        consumer_name: str | None = None,
        max_attempts: int = 5,
        retry_initial: float = 0.2,
        retry_max: float = 5.0,
        stall_seconds: float = 30.0,
        watchdog_interval: float | None = None,
        client_options: Mapping[str, Any] | None = None,
        tracer: Tracer | None = None,
        batch_transactions: bool = False,
        commit_interval: float | None = None,
        fetch_max_wait_ms: int | None = None,
        fetch_linger_ms: int = 0,
    ) -> None:
        self._service = service
        self._commit_interval = self.COMMIT_INTERVAL_SECONDS if commit_interval is None else commit_interval
        self._fetch_max_wait_ms = self.FETCH_MAX_WAIT_MS if fetch_max_wait_ms is None else fetch_max_wait_ms
        self._batch_transactions = batch_transactions
        self._fetch_linger_ms = fetch_linger_ms
        self.polls_with_records = 0
        """Polls that returned records, by this process: about one fetch answer each."""
        self._tracer = tracer or tracer_of(None)
        self._client_options = dict(client_options or {})
        self._bootstrap = bootstrap_servers
        self._group_id = group_id
        self._topics = topics
        self._handlers = dict(handlers)
        self._uow_factory = uow_factory
        self._producer_factory = producer_factory
        self._name = consumer_name or service
        self._max_attempts = max_attempts
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._stall_seconds = stall_seconds
        # The watchdog's look at the lag (from the fetches' answers, else one ListOffsets request) a third
        # of the stall time apart: a stall is still reported within stall_seconds + one interval.
        self._watchdog_interval = watchdog_interval if watchdog_interval is not None else max(1.0, stall_seconds / 3)
        self._consumer: AIOKafkaConsumer | None = None
        self._probe: AIOKafkaConsumer | None = None
        """The watchdog's client for the end offsets: a connection of its own, so a probe never waits
        behind the fetch the broker holds on the consumer's connection."""
        self._dlq_producer: AIOKafkaProducer | None = None
        self._dlq_lock = asyncio.Lock()
        self._last_progress = time.monotonic()
        self._lag: int | None = None
        self._failed_probes = 0
        self._last_probe_ok = time.monotonic()
        self._stalled = False
        self._running = False
        self._committed: dict[TopicPartition, int] = {}
        """Where this consumer's handling reached, per partition (committed, or to be at the next commit)."""
        self._pending: dict[TopicPartition, int] = {}
        """Offsets handled but not yet committed."""
        self._pending_records = 0
        self._commit_due = 0.0
        self._lanes: dict[TopicPartition, _Lane] = {}
        """The records polled and not yet handled, per partition, and the task handling them."""
        self._commit_lock = asyncio.Lock()
        self._commit_wake = asyncio.Event()
        """Set when handled offsets wait for a commit (or one is urgent): wakes ``_commit_loop``."""
        self._dead_letters = 0
        self._dead_letters_committed = 0
        self.offset_commits = 0
        """OffsetCommit requests sent (successful ones), by this process."""
        self._lag_confirmed = False
        self._lag_as_of = time.monotonic()
        """When the last lag measured was true (``time.monotonic()``): the fetch answer it came from."""
        self.last_error: str | None = None
        self.restarts = 0
        self.progress = Bell()
        """Rung each time ``handled`` moves: a worker of this process that follows the consumer (insights'
        fold job) sleeps on it instead of polling."""
        self._handled = 0
        self.batches_committed = 0
        self.batches_rolled_back = 0

    @property
    def handled(self) -> int:
        """Events handled so far (also those ignored or found duplicate), by this process."""
        return self._handled

    @handled.setter
    def handled(self, value: int) -> None:
        self._handled = value
        self.progress.ring()

    def health(self) -> ConsumerHealth:
        return ConsumerHealth(
            running=self._running,
            stalled=self._stalled,
            lag=self._lag,
            seconds_since_progress=time.monotonic() - self._last_progress,
            last_error=self.last_error,
            failed_probes=self._failed_probes,
        )

    async def run(self) -> None:
        backoff = Backoff(0.5, 10.0)
        while True:
            try:
                await self._run_consumer()
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = repr(exc)
                delay = backoff.next()
                log.warning("consumer.error", consumer=self._name, error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
            finally:
                self._running = False

    async def _run_consumer(self) -> None:
        consumer = AIOKafkaConsumer(
            **self._client_options,
            bootstrap_servers=self._bootstrap,
            group_id=self._group_id,
            client_id=f"{self._service}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=self.SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=self.HEARTBEAT_INTERVAL_MS,
            max_poll_interval_ms=300000,
            # refreshed at once when a leader moved or a partition is unknown; the periodic refresh
            # only finds partitions added to a subscribed topic
            metadata_max_age_ms=self.METADATA_MAX_AGE_MS,
            # A fetch returns as soon as a record arrives (fetch_min_bytes=1); how long the broker may
            # hold an empty one only sets how often an idle consumer asks again (aiokafka: 0.5 s).
            fetch_max_wait_ms=self._fetch_max_wait_ms,
            consumer_timeout_ms=self.FETCHER_FALLBACK_MS,
        )
        self._consumer = consumer
        self._committed = {}
        self._pending = {}
        self._pending_records = 0
        self._lag_confirmed = False
        tasks: list[asyncio.Task[None]] = []
        try:
            # with the listener: the partitions handled are committed before a rebalance gives them
            # up (the coordinator awaits the listener before it rejoins)
            consumer.subscribe(self._topics, listener=_CommitBeforeRevoke(self, consumer))
            await consumer.start()
            if self._fetch_linger_ms and not self._install_fetch_linger(consumer):
                log.error("consumer.fetch_linger_unavailable", consumer=self._name, aiokafka=aiokafka.__version__)
                self._fetch_linger_ms = 0
            self._running = True
            self._stalled = False
            self._last_progress = self._last_probe_ok = time.monotonic()
            self._failed_probes = 0
            log.info("consumer.started", consumer=self._name, topics=self._topics)
            tasks = [
                asyncio.create_task(self._watchdog(consumer)),
                asyncio.create_task(self._poll_loop(consumer)),
                asyncio.create_task(self._commit_loop(consumer)),
            ]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            self.restarts += 1
            log.warning("consumer.restarting", consumer=self._name, reason="stalled")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._running = False
            self._consumer = None
            if self._pending:
                # what was handled is committed before leaving the group (a stop, a restart), not
                # redelivered to the next owner
                try:
                    async with asyncio.timeout(5):
                        await self._commit_pending(consumer)
                except Exception as exc:
                    log.info("consumer.final_commit_failed", consumer=self._name, error=repr(exc))
            try:
                await asyncio.wait_for(consumer.stop(), timeout=15)
            except Exception as exc:
                log.debug("consumer.stop_failed", error=repr(exc))
            if self._dlq_producer is not None:
                try:
                    await asyncio.wait_for(self._dlq_producer.stop(), timeout=10)
                except Exception as exc:
                    log.debug("consumer.dlq_producer_stop_failed", error=repr(exc))
                self._dlq_producer = None
            if self._probe is not None:
                try:
                    await asyncio.wait_for(self._probe.stop(), timeout=10)
                except Exception as exc:
                    log.debug("consumer.probe_stop_failed", error=repr(exc))
                self._probe = None

    async def _poll_loop(self, consumer: AIOKafkaConsumer) -> None:
        """Hands what each poll returns to its partition's lane and polls again at once.

        A lane is one task per partition that handles that partition's records in order; partitions
        go side by side. The loop does not wait for the handlers: a record of another partition (or
        the next record of the one being handled) is taken off the fetcher as soon as it arrives, not
        after the slowest handler of the previous poll (a contract's render held every other
        partition of that poll's consumer for its whole time). Taking records promptly also keeps
        aiokafka's fetcher from sending a fetch without a partition whose records wait unconsumed
        (it does after 0.1 s), which then held that partition's next records until the broker
        answered the other partitions' fetch (up to ``FETCH_MAX_WAIT_MS``).

        A lane holding ``LANE_MAX_RECORDS`` pauses its partition until it has taken them."""
        try:
            async with asyncio.TaskGroup() as group:
                while True:
                    batches = await consumer.getmany(timeout_ms=self.POLL_TIMEOUT_MS, max_records=200)
                    if batches:
                        self.polls_with_records += 1
                        if self._fetch_linger_ms:
                            # before anything awaits: the fetcher builds its next request once it runs again
                            self._linger_next_fetch(consumer)
                    for tp, records in batches.items():
                        lane = self._lanes.get(tp)
                        if lane is None:
                            lane = self._lanes[tp] = _Lane()
                        lane.records.extend(records)
                        if lane.task is None:
                            lane.task = group.create_task(self._run_lane(consumer, tp, lane))
                        if len(lane.records) >= self.LANE_MAX_RECORDS and not lane.paused:
                            consumer.pause(tp)
                            lane.paused = True
        except* Exception as errors:  # a lane that failed (the DLQ unreachable): the consumer restarts
            raise errors.exceptions[0] from None
        finally:
            self._lanes = {}

    def _linger_next_fetch(self, consumer: AIOKafkaConsumer) -> None:
        """The fetcher's next request asks the broker to hold it for ``fetch_linger_ms`` (or until it has
        ``LINGER_MIN_BYTES``); the one after it long-polls again unless a poll brought records meanwhile.

        So a fetch that brought records is followed by one that gathers what arrives in the linger, in one
        answer, one poll and, with ``batch_transactions``, one transaction a partition, instead of a fetch
        a record; a lingering fetch that found nothing is followed by the long poll that answers at the
        first record. At rest nothing changes (a fetch every ``fetch_max_wait_ms``), the first record after
        a rest is handled at once, and the ones behind it wait up to the linger; a burst costs one empty
        fetch at its end. For a consumer off the flow's path (a read model) at a few flows a second, where
        the fetches are otherwise about one per record delivered, the largest count of a flow."""
        fetcher = consumer._fetcher
        fetcher._fetch_min_bytes, fetcher._fetch_max_wait_ms = self.LINGER_MIN_BYTES, self._fetch_linger_ms

    def _install_fetch_linger(self, consumer: AIOKafkaConsumer) -> bool:
        """Makes each lingering fetch a single one: once aiokafka's fetcher built a request (it takes the
        wait and the minimum from its own attributes, ``FetchRequest(max_wait, min_bytes, ...)``), the
        next long-polls. aiokafka has no public setter for them, hence its private attributes: False (no
        linger) when this aiokafka has not got them; ``test_fetch_linger.py`` tests the behaviour."""
        fetcher: Any = getattr(consumer, "_fetcher", None)
        if not _fetcher_takes_linger(fetcher):
            return False
        actions = fetcher._get_actions_per_node
        long_poll = self._fetch_max_wait_ms

        def one_lingering_fetch(assignment: Any) -> Any:
            result = actions(assignment)
            if result[0]:  # requests built: the next ones long-poll unless a poll brings records again
                fetcher._fetch_min_bytes, fetcher._fetch_max_wait_ms = 1, long_poll
            return result

        fetcher._get_actions_per_node = one_lingering_fetch
        return True

    async def _run_lane(self, consumer: AIOKafkaConsumer, tp: TopicPartition, lane: _Lane) -> None:
        """Handles a partition's records in order, up to 200 at a time (one transaction for them with
        ``batch_transactions``), until none are left; then the lane ends (the next poll starts another)."""
        try:
            while lane.records:
                records, lane.records = lane.records[:200], lane.records[200:]
                if lane.paused and not lane.records:
                    consumer.resume(tp)
                    lane.paused = False
                await self._handle_partition(records)
                # also when the partition is being revoked: the revocation waits for this and commits it
                if not self._pending:
                    self._commit_due = time.monotonic() + self._commit_interval
                    self._commit_wake.set()
                self._pending[tp] = self._committed[tp] = records[-1].offset + 1
                self._pending_records += len(records)
                if self._commit_urgent():
                    self._commit_wake.set()
        finally:
            lane.task = None
            if self._lanes.get(tp) is lane and not lane.records:
                del self._lanes[tp]

    def _commit_urgent(self) -> bool:
        return (
            self._pending_records >= self.COMMIT_MAX_RECORDS
            or self._dead_letters != self._dead_letters_committed  # not dead-lettered twice after a crash
        )

    async def _commit_loop(self, consumer: AIOKafkaConsumer) -> None:
        """Commits the handled offsets ``commit_interval`` after the first of them, or at once when urgent."""
        while True:
            self._commit_wake.clear()
            if self._pending and (time.monotonic() >= self._commit_due or self._commit_urgent()):
                await self._commit_pending(consumer)
                continue
            timeout = max(0.0, self._commit_due - time.monotonic()) if self._pending else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._commit_wake.wait(), timeout=timeout)

    async def _commit_pending(self, consumer: AIOKafkaConsumer, only: set[TopicPartition] | None = None) -> None:
        """Commits the handled offsets (of the partitions ``only``, else all) that are still assigned.

        A commit the group refuses because it rebalanced (the partitions belong to another member
        now) is not an error of this consumer: those offsets are dropped, the next owner starts from
        the group's last commit and the inbox absorbs what it sees again."""
        async with self._commit_lock:
            assigned = consumer.assignment()
            offsets = {tp: o for tp, o in self._pending.items() if tp in assigned and (only is None or tp in only)}
            for tp in [tp for tp in self._pending if tp not in assigned]:
                del self._pending[tp]
            dead_letters = self._dead_letters
            if offsets:
                try:
                    await consumer.commit(offsets)
                    self.offset_commits += 1
                except (CommitFailedError, IllegalStateError) as exc:
                    log.info("consumer.commit_refused", consumer=self._name, error=repr(exc))
            self._dead_letters_committed = dead_letters
            for tp, offset in offsets.items():
                if self._pending.get(tp) == offset:
                    del self._pending[tp]
            if not self._pending:
                self._pending_records = 0

    async def _before_revoke(self, consumer: AIOKafkaConsumer, revoked: set[TopicPartition]) -> None:
        """Called by the group coordinator before it gives ``revoked`` up: their records not begun are
        dropped (the next owner starts from the commit), the ones in hand are waited for (a while),
        then what was handled of them is committed."""
        lanes = [self._lanes.pop(tp) for tp in revoked if tp in self._lanes]
        for lane in lanes:
            lane.records.clear()
        try:
            async with asyncio.timeout(self.REVOKE_WAIT_SECONDS):
                busy = [lane.task for lane in lanes if lane.task is not None]
                if busy:
                    await asyncio.wait(busy)
                await self._commit_pending(consumer, only=revoked)
        except Exception as exc:
            log.info("consumer.revoke_commit_failed", consumer=self._name, error=repr(exc))

    async def _handle_partition(self, records: list[ConsumerRecord[Any, Any]]) -> None:
        if self._batch_transactions and len(records) > 1 and await self._handle_batch(records):
            self._last_progress = time.monotonic()
            return
        for record in records:
            await self._process(record)
            self._last_progress = time.monotonic()

    async def _watchdog(self, consumer: AIOKafkaConsumer) -> None:
        """Returns (which restarts the consumer) when there is lag but no progress for too long.

        When the lag cannot even be measured (the cluster is unreachable) and nothing was handled
        for as long, the consumer cannot make progress either: it is reported stalled, but not
        restarted, since a new consumer would not reach the cluster any better, and one restarted
        while the brokers come back can wait minutes for its group; aiokafka reconnects by itself.
        """
        while True:
            await asyncio.sleep(self._watchdog_interval)
            try:
                self._lag_as_of = time.monotonic()  # lowered by _committed_lag when it used fetched ends
                lag = await asyncio.wait_for(self._committed_lag(consumer), timeout=15)
            except Exception as exc:
                self._failed_probes += 1
                self._lag = None
                log.debug("consumer.watchdog_probe_failed", error=repr(exc), failed=self._failed_probes)
                if time.monotonic() - max(self._last_probe_ok, self._last_progress) > self._stall_seconds:
                    if not self._stalled:
                        log.warning("consumer.cannot_measure_lag", consumer=self._name, failed=self._failed_probes)
                    self._stalled = True
                continue
            self._failed_probes = 0
            self._last_probe_ok = time.monotonic()
            self._lag = lag
            metrics.CONSUMER_LAG.labels(self._service).set(lag)
            if lag == 0:
                # no lag as of the fetch answer it was measured from (not as of now: a fetcher that stopped
                # answering must not look like progress)
                self._last_progress = max(self._last_progress, self._lag_as_of)
            elif time.monotonic() - self._last_progress > self._stall_seconds:
                if not self._lag_confirmed:
                    # Measured against the offsets this consumer committed: before a restart, measure
                    # once more against the coordinator's (a rebalance may have moved a partition).
                    self._lag_confirmed = True
                    self._committed.clear()
                    continue
                self._stalled = True
                return
            self._lag_confirmed = False
            self._stalled = False

    async def _committed_lag(self, consumer: AIOKafkaConsumer) -> int:
        """Records between the committed offset and the end: what this group still has to handle.

        The end offsets are the last stable offsets the consumer's own fetches brought, when they are
        fresh (``_fetched_ends``): no request at all; else one request for them (the lag probe). The
        committed offsets are the ones this consumer committed itself, asked of the coordinator only
        for partitions it has not committed since they were assigned (and the beginnings only for
        partitions the group never committed)."""
        assigned = list(consumer.assignment())
        if not assigned:
            return 0
        known = self._committed
        for tp in list(known):
            if tp not in consumer.assignment():
                del known[tp]  # another consumer of the group may commit it now
        ends = self._fetched_ends(consumer, assigned)
        if ends is None:
            probe = await self._lag_probe()
            ends = await probe.end_offsets(assigned)
        unknown: list[TopicPartition] = []
        for tp in assigned:
            if tp not in known:
                committed = await consumer.committed(tp)
                if committed is None:
                    unknown.append(tp)
                else:
                    known[tp] = committed
        if unknown:
            # Never committed by the group: the lag counts from the beginning, and is remembered as the
            # committed offset until this consumer commits the partition (an idle consumer asked the
            # coordinator and the beginnings again at every probe: eight requests instead of one).
            known.update(await (await self._lag_probe()).beginning_offsets(unknown))
        return sum(max(0, ends.get(tp, 0) - known.get(tp, 0)) for tp in assigned)

    def _fetched_ends(
        self, consumer: AIOKafkaConsumer, assigned: list[TopicPartition]
    ) -> dict[TopicPartition, int] | None:
        """The last stable offset of each partition from the consumer's fetch answers, if every one was
        answered recently enough (then ``_lag_as_of`` is set to the oldest answer); else None.

        A fetcher that fetches is answered at once when a record arrives (``fetch_min_bytes`` 1), so its
        last answer's offsets are the broker's current ones, and an idle one is answered at least every
        ``fetch_max_wait_ms``: at rest the watchdog sends no request. A fetcher that stopped (aiokafka
        stuck after a broker restart), a paused partition, records taken off the fetcher but not yet
        consumed: their answers grow old, and the probe is asked instead."""
        fresh_ms = min(self._fetch_max_wait_ms + self.FETCHED_ENDS_MARGIN_MS, self._stall_seconds * 1000)
        now_ms = time.time() * 1000
        oldest = now_ms
        ends: dict[TopicPartition, int] = {}
        for tp in assigned:
            answered = consumer.last_poll_timestamp(tp)
            end = consumer.last_stable_offset(tp)
            if answered is None or end is None or end < 0 or now_ms - answered > fresh_ms:
                return None
            ends[tp] = end
            oldest = min(oldest, answered)
        self._lag_as_of = time.monotonic() - max(0.0, now_ms - oldest) / 1000
        return ends

    async def _lag_probe(self) -> AIOKafkaConsumer:
        """The watchdog's own client (no group, no subscription: no fetches, no heartbeats; its
        metadata, about every topic, refreshed every five minutes or when a leader moved)."""
        if self._probe is None:
            probe = AIOKafkaConsumer(
                **self._client_options,
                bootstrap_servers=self._bootstrap,
                client_id=f"{self._service}-lag-probe",
                group_id=None,
                enable_auto_commit=False,
                isolation_level="read_committed",
                metadata_max_age_ms=300000,
                request_timeout_ms=10000,
            )
            try:
                await probe.start()
            except BaseException:
                await probe.stop()
                raise
            self._probe = probe
        return self._probe

    async def _process(self, record: ConsumerRecord[Any, Any]) -> None:
        try:
            event = CloudEvent.from_json_bytes(record.value)
        except EnvelopeError as exc:
            log.warning("consumer.undecodable_record", topic=record.topic, offset=record.offset, error=str(exc))
            await self._dead_letter(record, error=f"undecodable: {exc}", attempts=0)
            return
        if event.type not in self._handlers:
            # No handler: nothing to do, so no transaction and no inbox row; the batch's offset commit
            # moves past it like any other record (a redelivery is skipped the same way). The span
            # stays: a trace still shows every service the event reached.
            with consume_span(self._tracer, record, event_id=event.id, event_type=event.type, group=self._group_id):
                metrics.EVENTS_CONSUMED.labels(self._service, event.type, "ignored").inc()
                self.handled += 1
            return
        structlog.contextvars.bind_contextvars(correlation_id=event.correlationid, event_id=event.id)
        try:
            with consume_span(self._tracer, record, event_id=event.id, event_type=event.type, group=self._group_id):
                await self._handle_with_retries(record, event)
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id", "event_id")

    async def _handle_with_retries(self, record: ConsumerRecord[Any, Any], event: CloudEvent) -> None:
        """Retries with backoff, then dead-letters. A database that cannot be reached (restarting,
        refusing connections) is no fault of the event: it is waited for without using up the
        attempts, or a restart of PostgreSQL would send every event in flight to the DLQ."""
        handler = self._handlers[event.type]
        backoff = Backoff(self._retry_initial, max(self._retry_initial, self._retry_max))
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = await self._handle_once(event, handler)
                metrics.EVENTS_CONSUMED.labels(self._service, event.type, outcome).inc()
                self.handled += 1
                return
            except PermanentEventError as exc:
                await self._dead_letter(record, error=f"permanent: {exc!r}", attempts=attempt)
                return
            except Exception as exc:
                self.last_error = repr(exc)
                if is_database_unavailable(exc):
                    attempt -= 1
                    delay = backoff.next()
                    log.warning("consumer.database_unavailable", type=event.type, error=repr(exc), retry_in=delay)
                    await asyncio.sleep(delay)
                    continue
                if attempt >= self._max_attempts:
                    log.error("consumer.giving_up", type=event.type, attempts=attempt, error=repr(exc))
                    await self._dead_letter(record, error=repr(exc), attempts=attempt)
                    return
                log.warning("consumer.retrying", type=event.type, attempt=attempt, error=repr(exc))
                await backoff.sleep()

    async def _handle_batch(self, records: list[ConsumerRecord[Any, Any]]) -> bool:
        """One transaction for a partition's records; False (nothing kept) when any of them failed."""
        events: list[tuple[ConsumerRecord[Any, Any], CloudEvent]] = []
        for record in records:
            try:
                events.append((record, CloudEvent.from_json_bytes(record.value)))
            except EnvelopeError:
                return False  # the record-by-record path dead-letters it
        outcomes: list[tuple[str, str]] = []
        try:
            async with self._uow_factory() as uow:
                handled = [event for _, event in events if event.type in self._handlers]
                new = await uow.claim_many(consumer=self._name, events=handled)  # one statement for the batch
                for record, event in events:
                    handler = self._handlers.get(event.type)
                    with consume_span(
                        self._tracer, record, event_id=event.id, event_type=event.type, group=self._group_id
                    ):
                        if handler is None:
                            outcomes.append((event.type, "ignored"))
                        elif event.id not in new:
                            outcomes.append((event.type, "duplicate"))
                        else:
                            new.discard(event.id)  # the same event twice in one batch: the second is a duplicate
                            outcome = await handler(event, uow)
                            if outcome is not None:
                                await uow.set_outcome(consumer=self._name, event=event, outcome=outcome)
                            outcomes.append((event.type, "handled"))
                await uow.commit()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.batches_rolled_back += 1
            log.info("consumer.batch_rolled_back", consumer=self._name, records=len(records), error=repr(exc))
            return False
        self.batches_committed += 1
        for event_type, outcome in outcomes:
            metrics.EVENTS_CONSUMED.labels(self._service, event_type, outcome).inc()
        self.handled += len(outcomes)
        return True

    async def _handle_once(self, event: CloudEvent, handler: Handler) -> str:
        async with self._uow_factory() as uow:
            if not await uow.claim(consumer=self._name, event=event):
                return "duplicate"
            outcome = await handler(event, uow)
            if outcome is not None:
                await uow.set_outcome(consumer=self._name, event=event, outcome=outcome)
            await uow.commit()
            return "handled"

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], *, error: str, attempts: int) -> None:
        async with self._dlq_lock:
            if self._dlq_producer is None:
                producer = self._producer_factory()
                await producer.start()
                self._dlq_producer = producer
        headers = [
            *list(record.headers or ()),
            ("dlq-error", error[:4000].encode()),
            ("dlq-original-topic", record.topic.encode()),
            ("dlq-original-partition", str(record.partition).encode()),
            ("dlq-original-offset", str(record.offset).encode()),
            ("dlq-consumer", self._name.encode()),
            ("dlq-attempts", str(attempts).encode()),
        ]
        await self._dlq_producer.send_and_wait(
            dlq_topic(record.topic), value=record.value, key=record.key, headers=headers
        )
        self._dead_letters += 1
        metrics.EVENTS_DEAD_LETTERED.labels(self._service, record.topic).inc()


def _fetcher_takes_linger(fetcher: Any) -> bool:
    """Whether this aiokafka's fetcher has what ``_install_fetch_linger`` and ``_linger_next_fetch`` use."""
    return (
        isinstance(getattr(fetcher, "_fetch_min_bytes", None), int)
        and isinstance(getattr(fetcher, "_fetch_max_wait_ms", None), int)
        and callable(getattr(fetcher, "_get_actions_per_node", None))
    )


@dataclass
class _Lane:
    """A partition's records polled and not yet handled, and the task handling them (None: none runs)."""

    records: list[ConsumerRecord[Any, Any]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    paused: bool = False


class _CommitBeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: EventConsumer, consumer: AIOKafkaConsumer) -> None:
        self._owner = owner
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._owner._before_revoke(self._consumer, set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None


__all__ = ["ConsumerHealth", "EventConsumer", "Handler", "PermanentEventError", "TopicPartition"]
