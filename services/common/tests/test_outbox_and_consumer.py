"""The outbox relay and the idempotent consumer against the real Kafka broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import asyncpg
from common_testkit import (
    Harness,
    event,
    eventually,
    make_consumer,
    make_relay,
    read_topic,
    recording_handler,
    running,
    write_events,
)

from backoffice_common.consumer import PermanentEventError
from backoffice_common.events import CloudEvent
from backoffice_common.kafka import dlq_topic, make_producer
from backoffice_common.outbox import MARK_SQL, RELAY_STATEMENT, OutboxRelay
from backoffice_common.uow import UnitOfWork


async def test_committed_events_reach_the_consumer_once_in_order_per_key(harness: Harness) -> None:
    h = harness
    events = [event(i, f"key-{i % 3}") for i in range(30)]
    await write_events(h, events[:10])
    await write_events(h, events[10:])
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)})
    async with running(make_relay(h).run, consumer.run):
        await eventually(lambda: _count_is(h, 30))
    effects = await h.effects()
    assert sorted(e[0] for e in effects) == sorted(e.id for e in events)
    for key in ("key-0", "key-1", "key-2"):
        seqs = [seq for _, k, seq in effects if k == key]
        assert seqs == sorted(seqs)
    assert await h.unsent() == 0


async def test_rolled_back_work_publishes_nothing(harness: Harness) -> None:
    h = harness
    async with h.uow() as uow:
        uow.publish(event(1, "k"), topic=h.topic)
        await uow.flush_events()
        await uow.rollback()
    async with h.engine.connect() as conn:
        from sqlalchemy import text

        assert (await conn.execute(text("SELECT count(*) FROM outbox_message"))).scalar_one() == 0


async def test_an_outbox_row_has_exactly_one_effect_when_the_relay_is_killed_between_ack_and_marking_sent(
    harness: Harness,
) -> None:
    h = harness
    events = [event(i, "order-1") for i in range(5)]
    await write_events(h, events)
    crashing = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("crashing_relay.py")), h.dsn, h.service, h.bootstrap
    )
    assert await asyncio.wait_for(crashing.wait(), timeout=120) == -signal.SIGKILL
    assert await h.unsent() == 5
    on_the_wire = await read_topic(h.bootstrap, h.topic, expected=5)
    assert len(on_the_wire) == 5

    consumer = make_consumer(h, {"thing.happened": recording_handler(h)})
    async with running(make_relay(h).run, consumer.run):
        await eventually(lambda: _unsent_is(h, 0))
        assert len(await read_topic(h.bootstrap, h.topic, expected=10)) == 10
        await eventually(lambda: _count_is(h, 5))
        await asyncio.sleep(2)
    effects = await h.effects()
    assert [seq for _, _, seq in effects] == [0, 1, 2, 3, 4]


async def test_rows_committed_out_of_id_order_are_all_published_and_keep_per_key_order(harness: Harness) -> None:
    h = harness
    relay = make_relay(h)
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)})
    slow = event(0, "slow-key")
    async with running(relay.run, consumer.run):
        async with h.uow() as long_uow:
            long_uow.publish(slow, topic=h.topic)
            await long_uow.flush_events()  # takes the lower id, commits last
            quick = [event(i, "quick-key") for i in range(1, 11)]
            for e in quick:
                await write_events(h, [e])
            await eventually(lambda: _count_is(h, 10))
            await long_uow.commit()
        await eventually(lambda: _count_is(h, 11))
    effects = await h.effects()
    assert {e[0] for e in effects} == {slow.id, *(q.id for q in quick)}
    assert [seq for _, k, seq in effects if k == "quick-key"] == list(range(1, 11))
    assert await h.unsent() == 0


async def test_a_failing_handler_is_retried_then_dead_lettered_and_the_next_record_is_handled(harness: Harness) -> None:
    h = harness
    attempts: list[str] = []

    async def flaky(e: CloudEvent, uow: UnitOfWork) -> None:
        if e.data["seq"] == 0:
            attempts.append(e.id)
            raise RuntimeError("downstream refused")
        await recording_handler(h)(e, uow)

    poison, good = event(0, "same-key"), event(1, "same-key")
    await write_events(h, [poison, good])
    consumer = make_consumer(h, {"thing.happened": flaky}, max_attempts=3)
    async with running(make_relay(h).run, consumer.run):
        await eventually(lambda: _count_is(h, 1))
    assert len(attempts) == 3
    assert [e[0] for e in await h.effects()] == [good.id]
    dead = await read_topic(h.bootstrap, dlq_topic(h.topic), expected=1)
    assert len(dead) == 1
    _key, value, headers = dead[0]
    assert json.loads(value)["id"] == poison.id
    assert b"downstream refused" in headers["dlq-error"]
    assert headers["dlq-attempts"] == b"3"


async def test_a_database_that_restarts_is_waited_for_without_using_up_the_attempts(harness: Harness) -> None:
    h = harness
    failures = 0

    async def database_restarting(e: CloudEvent, uow: UnitOfWork) -> None:
        nonlocal failures
        if failures < 6:  # twice the attempts: a restart longer than the retries of a bad event
            failures += 1
            raise asyncpg.CannotConnectNowError("the database system is starting up")
        await recording_handler(h)(e, uow)

    await write_events(h, [event(0, "k")])
    consumer = make_consumer(h, {"thing.happened": database_restarting}, max_attempts=3)
    async with running(make_relay(h).run, consumer.run):
        await eventually(lambda: _count_is(h, 1), timeout=30)
    assert failures == 6
    assert len(await h.effects()) == 1
    assert await read_topic(h.bootstrap, dlq_topic(h.topic), expected=1, timeout=2) == []


async def test_a_permanent_error_is_dead_lettered_without_retries(harness: Harness) -> None:
    h = harness
    calls = 0

    async def refuse(e: CloudEvent, uow: UnitOfWork) -> None:
        nonlocal calls
        calls += 1
        raise PermanentEventError("unknown order")

    await write_events(h, [event(0, "k")])
    consumer = make_consumer(h, {"thing.happened": refuse}, max_attempts=5)
    async with running(make_relay(h).run, consumer.run):
        dead = await read_topic(h.bootstrap, dlq_topic(h.topic), expected=1)
    assert calls == 1
    assert len(dead) == 1


async def test_a_malformed_record_goes_to_the_dlq_and_the_consumer_keeps_running(harness: Harness) -> None:
    h = harness
    producer = make_producer(h.bootstrap, client_id="malformed")
    await producer.start()
    try:
        await producer.send_and_wait(h.topic, value=b"\xff\xfe not json", key=b"k")
        await producer.send_and_wait(h.topic, value=b'{"specversion": "1.0", "id": "x"}', key=b"k")
        await producer.send_and_wait(h.topic, value=None, key=b"k")
    finally:
        await producer.stop()
    good = event(7, "k")
    await write_events(h, [good])
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)})
    async with running(make_relay(h).run, consumer.run):
        await eventually(lambda: _count_is(h, 1))
        dead = await read_topic(h.bootstrap, dlq_topic(h.topic), expected=3)
        assert consumer.health().running
    assert len(dead) == 3
    assert all(b"undecodable" in headers["dlq-error"] for _, _, headers in dead)


class _StatementLog(OutboxRelay):
    """The relay, keeping the statements it sends on its connection once it leads."""

    sent: list[str]

    async def _publish_while_leader(self, conn: asyncpg.Connection) -> None:
        self.sent = []
        conn.add_query_logger(lambda query: self.sent.append(query.query))
        await super()._publish_while_leader(conn)


async def test_acknowledged_rows_are_marked_with_the_next_reading_not_by_a_statement_of_their_own(
    harness: Harness,
) -> None:
    h = harness
    events = [event(i, f"key-{i % 2}") for i in range(4)]
    await write_events(h, events)
    relay = _StatementLog(
        dsn=h.dsn, service=h.service, producer_factory=h.producer_factory(), batch_size=100, poll_interval=30.0
    )
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)})
    async with running(relay.run, consumer.run):
        await eventually(lambda: _unsent_is(h, 0), timeout=20)  # marked without a poll (30 s) or a notification
        await eventually(lambda: _count_is(h, 4))
        assert relay.published_total == 4
        # The first pass fetched the rows (and read the backlog); once the broker acknowledged them, their
        # mark waited for the next backlog reading and went with it: no MARK_SQL alone, one statement a pass.
        # (two passes, or three if one key's acknowledgement came more than a reading after the other's)
        ours = [query for query in relay.sent if "outbox_message" in query]  # (not asyncpg's type introspection)
        assert MARK_SQL not in ours
        assert set(ours) == {RELAY_STATEMENT}
        assert 2 <= len(ours) <= 3
        more = [event(i, "key-0") for i in range(4, 7)]
        await write_events(h, more)  # the notification: a fetch, then the mark with the next reading
        await eventually(lambda: _unsent_is(h, 0), timeout=20)
        await eventually(lambda: _count_is(h, 7))
        assert relay.published_total == 7
        assert MARK_SQL not in relay.sent
    effects = await h.effects()
    assert [seq for _, k, seq in effects if k == "key-0"] == [0, 2, 4, 5, 6]
    assert len(await read_topic(h.bootstrap, h.topic, expected=7)) == 7  # each row sent once


async def test_a_redelivered_event_changes_nothing(harness: Harness) -> None:
    h = harness
    e = event(3, "k")
    handle = recording_handler(h)
    for _ in range(2):
        async with h.uow() as uow:
            if await uow.claim(consumer="c", event=e):
                await handle(e, uow)
            await uow.commit()
    assert len(await h.effects()) == 1


async def test_only_one_of_two_relays_publishes_and_the_standby_takes_over_when_the_leader_dies(
    harness: Harness,
) -> None:
    h = harness
    first, second = make_relay(h), make_relay(h)
    first_task = asyncio.create_task(first.run())
    await eventually(lambda: _is(first.is_leader))
    second_task = asyncio.create_task(second.run())
    try:
        await write_events(h, [event(i, "k") for i in range(5)])
        await eventually(lambda: _unsent_is(h, 0))
        await asyncio.sleep(1)
        assert first.is_leader
        assert not second.is_leader
        assert (first.published_total, second.published_total) == (5, 0)

        first_task.cancel()
        await asyncio.gather(first_task, return_exceptions=True)
        await eventually(lambda: _is(second.is_leader), timeout=30)
        await write_events(h, [event(i, "k") for i in range(5, 8)])
        await eventually(lambda: _unsent_is(h, 0))
        assert second.published_total == 3
        assert len(await read_topic(h.bootstrap, h.topic, expected=8)) == 8
    finally:
        second_task.cancel()
        await asyncio.gather(first_task, second_task, return_exceptions=True)


async def test_a_consumer_that_has_lag_but_makes_no_progress_is_reported_stalled_and_restarted(
    harness: Harness,
) -> None:
    h = harness
    release = asyncio.Event()

    async def stuck(e: CloudEvent, uow: UnitOfWork) -> None:
        await release.wait()

    await write_events(h, [event(0, "k"), event(1, "k")])
    consumer = make_consumer(h, {"thing.happened": stuck}, stall_seconds=2.0)
    consumer._watchdog_interval = 0.5
    async with running(make_relay(h).run, consumer.run):
        await eventually(lambda: _is(consumer.health().stalled or consumer.restarts > 0), timeout=30)
        release.set()
        await eventually(lambda: _is(consumer.handled >= 2), timeout=60)
    assert consumer.restarts >= 1


async def test_a_consumer_that_cannot_measure_its_lag_is_reported_stalled_until_it_can_again(
    harness: Harness,
) -> None:
    h = harness
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)}, stall_seconds=2.0)
    consumer._watchdog_interval = 0.3
    probes_fail = True

    async def unreachable(_: object) -> int:
        if probes_fail:
            raise ConnectionError("the group coordinator cannot be reached")
        return 0

    consumer._committed_lag = unreachable  # type: ignore[method-assign]
    async with running(consumer.run):
        await eventually(lambda: _is(consumer.health().failed_probes >= 2), timeout=30)
        assert not consumer.health().stalled  # not yet: a probe may fail now and then
        await eventually(lambda: _is(consumer.health().stalled), timeout=30)
        assert consumer.health().running
        assert consumer.restarts == 0  # a new consumer would not reach the cluster any better
        probes_fail = False
        await eventually(lambda: _is(not consumer.health().stalled), timeout=30)
        assert consumer.health().failed_probes == 0
        await write_events(h, [event(0, "k")])
        async with running(make_relay(h).run):
            await eventually(lambda: _count_is(h, 1))


async def _count_is(h: Harness, n: int) -> bool:
    return len(await h.effects()) >= n


async def _unsent_is(h: Harness, n: int) -> bool:
    return await h.unsent() == n


async def _is(value: bool) -> bool:
    return value
