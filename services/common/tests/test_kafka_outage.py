"""Kafka stopped and started again under a running relay and consumer (slow: restarts the broker)."""

from __future__ import annotations

from collections.abc import Callable

from common_testkit import (
    Harness,
    event,
    eventually,
    make_consumer,
    make_relay,
    recording_handler,
    running,
    write_events,
)


async def test_writes_succeed_while_kafka_is_down_and_every_event_arrives_in_order_after_it_returns(
    harness: Harness, infra: Callable[[str, str], None]
) -> None:
    h = harness
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)}, stall_seconds=20.0)
    before = [event(i, f"k{i % 2}") for i in range(4)]
    during = [event(i, f"k{i % 2}") for i in range(4, 24)]
    async with running(make_relay(h).run, consumer.run):
        await write_events(h, before)
        await eventually(lambda: _count_is(h, 4))
        infra("stop", "kafka")
        try:
            for e in during:
                await write_events(h, [e])
            assert await h.unsent() == len(during)
        finally:
            infra("start", "kafka")
        await eventually(lambda: _count_is(h, 24), timeout=120)
    effects = await h.effects()
    assert len(effects) == 24
    for key in ("k0", "k1"):
        seqs = [seq for _, k, seq in effects if k == key]
        assert seqs == sorted(seqs)
    assert await h.unsent() == 0


async def _count_is(h: Harness, n: int) -> bool:
    return len(await h.effects()) >= n
