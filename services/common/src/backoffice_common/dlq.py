"""Dead letters: list what a service's consumer gave up on, and redrive chosen records to their topic.

Several services consume one topic, so one ``<topic>.dlq`` holds the dead letters of several
consumers; each record names its consumer in ``dlq-consumer`` and a desk only sees its own.

A redrive re-publishes the original value, key and headers (without the ``dlq-*`` ones) to the
original topic, then appends a marker to the dead-letter topic: an empty value whose
``dlq-redrive-of`` header names the redriven record. The DLQ is thus its own journal: a record with a
marker is listed as redriven and not published again. The event keeps its id, so if a redrive is
repeated anyway (two instances at the same moment, or a crash between the two writes), every
consumer's inbox absorbs the repeat; the other consumer groups of the topic, which had handled the
event, absorb it the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from backoffice_common.events import CloudEvent, EnvelopeError

REDRIVE_OF = "dlq-redrive-of"
REDRIVEN_BY = "dlq-redriven-by"
REDRIVEN_FROM = "redriven-from"


@dataclass(frozen=True)
class RecordRef:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class DeadLetter:
    ref: RecordRef
    key: str | None
    dead_lettered_at: datetime
    headers: dict[str, str]
    event: CloudEvent | None
    value: bytes | None
    raw_headers: tuple[tuple[str, bytes], ...]
    redriven_at: datetime | None = None
    redriven_by: str | None = None

    @property
    def original_topic(self) -> str:
        return self.headers.get("dlq-original-topic", self.ref.topic.removesuffix(".dlq"))


@dataclass(frozen=True)
class RedriveOutcome:
    ref: RecordRef
    event_id: str | None
    outcome: str  # "redriven" | "already_redriven"
    republished_to: str | None = None
    republished_offset: int | None = None


class DeadLetterDesk:
    def __init__(
        self,
        *,
        bootstrap_servers: str,
        consumer: str,
        dlq_topics: Sequence[str],
        producer_factory: Callable[[], AIOKafkaProducer],
        read_timeout: float = 30.0,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self._read_timeout = read_timeout
        self._options = client_options or {}
        self._bootstrap = bootstrap_servers
        self.consumer = consumer
        self.dlq_topics = list(dlq_topics)
        self._producer_factory = producer_factory
        self._lock = asyncio.Lock()

    async def letters(self, *, include_redriven: bool = False) -> list[DeadLetter]:
        """This consumer's dead letters, oldest first; redriven ones only with ``include_redriven``."""
        letters: dict[RecordRef, DeadLetter] = {}
        markers: dict[RecordRef, tuple[datetime, str | None]] = {}
        for record in await self._read_all():
            headers = _decoded(record.headers)
            if headers.get("dlq-consumer") != self.consumer:
                continue
            at = datetime.fromtimestamp(record.timestamp / 1000, UTC)
            if REDRIVE_OF in headers:
                partition, _, offset = headers[REDRIVE_OF].partition(":")
                markers[RecordRef(record.topic, int(partition), int(offset))] = (at, headers.get(REDRIVEN_BY))
                continue
            ref = RecordRef(record.topic, record.partition, record.offset)
            letters[ref] = DeadLetter(
                ref=ref,
                key=record.key.decode(errors="replace") if record.key is not None else None,
                dead_lettered_at=at,
                headers=headers,
                event=_event_of(record.value),
                value=record.value,
                raw_headers=tuple(record.headers or ()),
            )
        result = []
        for ref, letter in letters.items():
            if ref in markers:
                at, by = markers[ref]
                letter = replace(letter, redriven_at=at, redriven_by=by)
            if include_redriven or letter.redriven_at is None:
                result.append(letter)
        return sorted(result, key=lambda d: (d.dead_lettered_at, d.ref.topic, d.ref.partition, d.ref.offset))

    async def redrive(
        self, *, refs: Sequence[RecordRef] = (), event_ids: Sequence[str] = (), by: str
    ) -> list[RedriveOutcome]:
        """Re-publish the chosen dead letters (by position or event id) that were not redriven yet."""
        async with self._lock:
            letters = await self.letters(include_redriven=True)
            wanted = set(refs)
            ids = set(event_ids)
            chosen = [d for d in letters if d.ref in wanted or (d.event is not None and d.event.id in ids)]
            if not chosen:
                return []
            producer = self._producer_factory()
            await producer.start()
            try:
                return [await self._redrive_one(producer, letter, by=by) for letter in chosen]
            finally:
                await producer.stop()

    async def _redrive_one(self, producer: AIOKafkaProducer, letter: DeadLetter, *, by: str) -> RedriveOutcome:
        event_id = letter.event.id if letter.event else None
        if letter.redriven_at is not None:
            return RedriveOutcome(letter.ref, event_id, "already_redriven")
        ref = letter.ref
        headers = [(k, v) for k, v in letter.raw_headers if not k.startswith("dlq-") and k != REDRIVEN_FROM]
        headers.append((REDRIVEN_FROM, f"{ref.topic}:{ref.partition}:{ref.offset}".encode()))
        key = letter.key.encode() if letter.key is not None else None
        sent = await producer.send_and_wait(letter.original_topic, value=letter.value, key=key, headers=headers)
        marker = [
            (REDRIVE_OF, f"{ref.partition}:{ref.offset}".encode()),
            ("dlq-consumer", self.consumer.encode()),
            (REDRIVEN_BY, by.encode()),
        ]
        await producer.send_and_wait(ref.topic, value=b"", key=key, headers=marker)
        return RedriveOutcome(ref, event_id, "redriven", letter.original_topic, sent.offset)

    async def _read_all(self) -> list[ConsumerRecord[Any, Any]]:
        """Every record of the DLQ topics up to their end offsets at the time of the call."""
        partitions = await self._partitions()
        if not partitions:
            return []
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            **self._options,
        )
        await consumer.start()
        try:
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            for tp, start in (await consumer.beginning_offsets(partitions)).items():
                consumer.seek(tp, start)
            records: list[ConsumerRecord[Any, Any]] = []
            deadline = asyncio.get_running_loop().time() + self._read_timeout
            while any([await consumer.position(tp) < end for tp, end in ends.items()]):
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(
                        f"could not read {', '.join(self.dlq_topics)} to the end in {self._read_timeout}s"
                    )
                batch = await consumer.getmany(*partitions, timeout_ms=500)
                for tp, recs in batch.items():
                    records += [r for r in recs if r.offset < ends[tp]]
            return records
        finally:
            await consumer.stop()

    async def _partitions(self) -> list[TopicPartition]:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap, client_id=f"{self.consumer}-dlq-admin", **self._options
        )
        await admin.start()
        try:
            present = set(await admin.list_topics())
            existing = [t for t in self.dlq_topics if t in present]
            described = await admin.describe_topics(existing) if existing else []
        finally:
            await admin.close()
        return [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]


def _decoded(headers: Sequence[tuple[str, bytes]] | None) -> dict[str, str]:
    """Header name -> text; the last value wins for a repeated name (a record dead-lettered twice)."""
    return {name: value.decode(errors="replace") for name, value in headers or ()}


def _event_of(value: bytes | None) -> CloudEvent | None:
    try:
        return CloudEvent.from_json_bytes(value)
    except EnvelopeError:
        return None
