"""The outbox relay when one partition (or topic) cannot take records while the others can.

The first tests drive the relay with a producer double, to hold one key's record unacknowledged
for as long as the test wants and to see the exact order of sends; the database is the real one.
The last test does the same against the real broker with a topic that does not exist yet.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
from aiokafka.errors import KafkaTimeoutError
from common_testkit import Harness, event, eventually, make_relay, read_topic, running, write_events
from sqlalchemy import text

from backoffice_common.kafka import TopicSpec, ensure_topics
from backoffice_common.outbox import OutboxRelay


class PartitionDown(Exception):
    """What the double's send raises for a key whose partition is down (aiokafka: KafkaTimeoutError)."""


class ProducerDouble:
    """Acknowledges every record at once, except those of ``blocked`` keys: their deliveries stay
    pending until ``release`` (fail=True: they fail). ``refuse`` keys fail in ``send`` itself."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []
        self.blocked: set[str] = set()
        self.refuse: set[str] = set()
        self.pending: list[tuple[str, asyncio.Future[None]]] = []

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        for _, future in self.pending:
            if not future.done():
                future.set_exception(KafkaTimeoutError())
        self.pending.clear()

    async def send(self, topic: str, value: bytes, key: bytes, headers: Any) -> asyncio.Future[None]:
        k = key.decode()
        if k in self.refuse:
            raise PartitionDown(k)
        self.sent.append((k, json.loads(value)["data"]["seq"]))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if k in self.blocked:
            self.pending.append((k, future))
        else:
            future.set_result(None)
        return future

    def fail(self, key: str) -> None:
        """The record timed out waiting for a leader; the partition stays down."""
        for k, future in [p for p in self.pending if p[0] == key]:
            self.pending.remove((k, future))
            future.set_exception(KafkaTimeoutError())

    def heal(self, key: str) -> None:
        self.blocked.discard(key)
        for k, future in [p for p in self.pending if p[0] == key]:
            self.pending.remove((k, future))
            future.set_result(None)


class CountingRelay(OutboxRelay):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.marked: Counter[int] = Counter()

    async def mark_sent(self, conn: asyncpg.Connection, ids: list[int], **pass_: Any) -> Any:
        self.marked.update(ids)
        return await super().mark_sent(conn, ids, **pass_)


def counting_relay(h: Harness, producer: ProducerDouble) -> CountingRelay:
    return CountingRelay(
        dsn=h.dsn,
        service=h.service,
        producer_factory=lambda: producer,
        batch_size=100,
        poll_interval=0.5,  # type: ignore[arg-type,return-value]
    )


@contextmanager
def unretrieved_future_errors() -> Iterator[list[dict[str, Any]]]:
    """Collects what asyncio reports about futures whose exception nobody read."""
    loop = asyncio.get_running_loop()
    reports: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reports.append(context))
    try:
        yield reports
    finally:
        gc.collect()
        loop.set_exception_handler(previous)


async def unsent_keys(h: Harness) -> Counter[str]:
    async with h.engine.connect() as conn:
        rows = await conn.execute(text("SELECT key FROM outbox_message WHERE sent_at IS NULL"))
        return Counter(r[0] for r in rows)


async def test_keys_on_healthy_partitions_keep_flowing_while_one_key_waits_and_its_later_rows_wait_behind_it(
    harness: Harness,
) -> None:
    h = harness
    producer = ProducerDouble()
    producer.blocked.add("stuck")
    relay = counting_relay(h, producer)
    with unretrieved_future_errors() as reports:
        async with running(relay.run):
            await write_events(h, [event(0, "stuck"), event(0, "a"), event(1, "stuck"), event(0, "b")])
            await write_events(h, [event(1, "a"), event(2, "stuck"), event(1, "b")])
            await eventually(lambda: _equals(unsent_keys(h), Counter({"stuck": 3})), timeout=10)
            # Later rows of the same key keep arriving and flowing meanwhile.
            await write_events(h, [event(2, "a"), event(3, "stuck")])
            await eventually(lambda: _equals(unsent_keys(h), Counter({"stuck": 4})), timeout=10)
            assert [seq for k, seq in producer.sent if k == "stuck"] == [0]

            producer.fail("stuck")  # no leader came back in time: the record times out
            await eventually(lambda: _is(len([k for k, _ in producer.sent if k == "stuck"]) >= 2), timeout=10)
            assert [seq for k, seq in producer.sent if k == "stuck"] == [0, 0]  # retried from its first row
            producer.heal("stuck")  # a new leader
            await eventually(lambda: _equals(unsent_keys(h), Counter()), timeout=15)
    assert [seq for k, seq in producer.sent if k == "stuck"] == [0, 0, 1, 2, 3]
    assert [seq for k, seq in producer.sent if k == "a"] == [0, 1, 2]
    assert [seq for k, seq in producer.sent if k == "b"] == [0, 1]
    assert set(relay.marked.values()) == {1}
    assert len(relay.marked) == 9
    assert relay.published_total == 9
    assert not [r for r in reports if "never retrieved" in str(r.get("message"))], reports


async def test_a_send_that_raises_stops_only_its_own_key_and_leaves_no_future_unread(harness: Harness) -> None:
    h = harness
    producer = ProducerDouble()
    producer.refuse.add("down")
    relay = counting_relay(h, producer)
    with unretrieved_future_errors() as reports:
        async with running(relay.run):
            await write_events(h, [event(0, "up"), event(0, "down"), event(1, "up"), event(1, "down")])
            await write_events(h, [event(2, "up")])
            await eventually(lambda: _equals(unsent_keys(h), Counter({"down": 2})), timeout=10)
            await asyncio.sleep(1.5)  # the key is retried with backoff meanwhile, and refused again
            assert await unsent_keys(h) == Counter({"down": 2})
            producer.refuse.clear()
            await eventually(lambda: _equals(unsent_keys(h), Counter()), timeout=15)
    assert [seq for k, seq in producer.sent if k == "down"] == [0, 1]
    assert [seq for k, seq in producer.sent if k == "up"] == [0, 1, 2]
    assert set(relay.marked.values()) == {1}
    assert relay.last_error is None
    assert not [r for r in reports if "never retrieved" in str(r.get("message"))], reports


async def test_against_the_broker_a_topic_without_metadata_holds_only_its_own_keys(harness: Harness) -> None:
    h = harness
    missing = f"{h.topic}.late"
    relay = make_relay(h)
    early = [event(i, f"order-{i % 4}") for i in range(12)]
    late = [event(i, "late-order") for i in range(3)]
    with unretrieved_future_errors() as reports:
        async with running(relay.run):
            async with h.uow() as uow:
                for e in late:
                    uow.publish(e, topic=missing)
                await uow.commit()
            for e in early:
                await write_events(h, [e])
            healthy = await read_topic(h.bootstrap, h.topic, expected=12, timeout=30)
            assert len(healthy) == 12
            await eventually(lambda: _equals(unsent_keys(h), Counter({"late-order": 3})), timeout=20)
            await ensure_topics(h.bootstrap, [TopicSpec(missing, 3, 1)], client_id="test-admin")
            await eventually(lambda: _equals(unsent_keys(h), Counter()), timeout=60)
        arrived = await read_topic(h.bootstrap, missing, expected=3, timeout=30)
    assert [json.loads(value)["data"]["seq"] for _, value, _ in arrived] == [0, 1, 2]
    assert relay.published_total == 15
    per_key: dict[str, list[int]] = {}
    for key, value, _ in healthy:
        per_key.setdefault(key.decode(), []).append(json.loads(value)["data"]["seq"])
    assert all(seqs == sorted(seqs) for seqs in per_key.values())
    assert not [r for r in reports if "never retrieved" in str(r.get("message"))], reports


async def _equals(value: Any, expected: Any) -> bool:
    return await value == expected


async def _is(value: bool) -> bool:
    return value
