"""An idle service wakes up rarely, and loses no latency for it (docs/performance.md, fourth round).

The HTTP server's housekeeping tick is once a second (uvicorn: ten times) and a signal still stops
it at once; an idle consumer long-polls (the broker holds an empty fetch 20 s, aiokafka's fetcher
and the poll loop wait seconds), yet an event that arrives in the middle of those waits is handled
at once, not at the end of the wait.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time

import uvicorn
from common_testkit import Harness, make_consumer, recording_handler, running

from backoffice_common.cli import QuietServer
from backoffice_common.events import new_event
from backoffice_common.kafka import make_producer


async def _app(scope: dict[str, object], receive: object, send: object) -> None:
    if scope["type"] == "lifespan":
        return


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _CountingServer(QuietServer):
    TICK_SECONDS = 30.0

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ticks = 0

    async def on_tick(self, counter: int) -> bool:
        self.ticks += 1
        return await super().on_tick(counter)


async def test_the_http_server_ticks_once_a_second_and_a_signal_stops_it_at_once() -> None:
    # uvicorn raises a signal it stopped for again once stopped, for the handler it found: a harmless one
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        await _ticks_and_stop()
    finally:
        signal.signal(signal.SIGTERM, previous)


async def _ticks_and_stop() -> None:
    config = uvicorn.Config(_app, host="127.0.0.1", port=_free_port(), log_config=None, lifespan="off")
    server = QuietServer(config)
    ticks = 0
    on_tick = server.on_tick

    async def counting(counter: int) -> bool:
        nonlocal ticks
        ticks += 1
        # the Date header is still refreshed at every tick (uvicorn refreshes it when counter % 10 == 0)
        assert counter % 10 == 0
        return await on_tick(counter)

    server.on_tick = counting  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    await asyncio.sleep(3.2)
    assert server.started
    server.handle_exit(signal.SIGTERM, None)
    await asyncio.wait_for(task, timeout=3)
    # uvicorn's own loop ticks every 0.1 s: 32 in this time
    assert 2 <= ticks <= 6, ticks

    # with a tick far longer than the test, the signal alone ends the wait
    slow = _CountingServer(uvicorn.Config(_app, host="127.0.0.1", port=_free_port(), log_config=None, lifespan="off"))
    task = asyncio.create_task(slow.serve())
    while not slow.started:
        await asyncio.sleep(0.05)
    started = time.monotonic()
    slow.handle_exit(signal.SIGTERM, None)
    await asyncio.wait_for(task, timeout=5)
    assert time.monotonic() - started < 2.0
    assert slow.ticks == 2  # the first look, and the one the signal woke


async def test_an_idle_consumer_handles_an_event_as_soon_as_it_arrives(harness: Harness) -> None:
    h = harness
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)})
    producer = make_producer(h.bootstrap, client_id="idle-test", request_timeout_ms=5000)
    await producer.start()
    latencies: list[float] = []
    try:
        async with running(consumer.run):
            warm = new_event(type="thing.happened", service="test", subject="k", data={"seq": 0})
            await producer.send_and_wait(h.topic, warm.to_json_bytes(), key=b"k")
            while consumer.handled < 1:
                await asyncio.sleep(0.05)
            # Arrivals spread over the broker's 20-s long poll: had a fetch answered only when its wait
            # ran out, several of these would wait seconds.
            for seq, idle in enumerate((1.3, 2.1, 2.9, 3.7, 4.5), start=1):
                await asyncio.sleep(idle)
                e = new_event(type="thing.happened", service="test", subject="k", data={"seq": seq})
                sent = time.monotonic()
                await producer.send_and_wait(h.topic, e.to_json_bytes(), key=b"k")
                while consumer.handled < seq + 1:
                    await asyncio.sleep(0.01)
                latencies.append(time.monotonic() - sent)
    finally:
        await producer.stop()
    assert len(await h.effects()) == 6
    assert max(latencies) < 1.5, latencies


async def test_an_idle_consumer_asks_the_coordinator_once_per_partition_not_at_every_watchdog_probe(
    harness: Harness,
) -> None:
    """A group that never committed: its start is remembered, so a probe is one ListOffsets request."""
    h = harness
    consumer = make_consumer(h, {"thing.happened": recording_handler(h)}, watchdog_interval=0.2)
    asked: list[object] = []
    async with running(consumer.run):
        while consumer._consumer is None or consumer.health().lag is None:  # the first probe
            await asyncio.sleep(0.05)
        kafka_consumer = consumer._consumer
        committed = kafka_consumer.committed

        async def counting(tp: object) -> object:
            asked.append(tp)
            return await committed(tp)  # type: ignore[arg-type]

        kafka_consumer.committed = counting  # type: ignore[method-assign]
        probe = consumer._committed_lag
        probes = 0

        async def counting_probes(c: object) -> int:
            nonlocal probes
            lag = await probe(c)  # type: ignore[arg-type]
            probes += 1
            return lag

        consumer._committed_lag = counting_probes  # type: ignore[method-assign]
        deadline = time.monotonic() + 60
        while probes < 3:
            assert time.monotonic() < deadline, probes
            await asyncio.sleep(0.05)
        assert consumer.health().lag == 0
        assert consumer._failed_probes == 0
        assert asked == []  # the first probe learnt every partition's start

        # what arrives is handled, and the lag measured against this consumer's own commit is 0 again
        producer = make_producer(h.bootstrap, client_id="idle-test", request_timeout_ms=5000)
        await producer.start()
        try:
            e = new_event(type="thing.happened", service="test", subject="k", data={"seq": 1})
            await producer.send_and_wait(h.topic, e.to_json_bytes(), key=b"k")
        finally:
            await producer.stop()
        # the probe has a connection of its own (not behind the held fetch): the lag is known within seconds
        deadline = time.monotonic() + 15
        while consumer.handled < 1 or consumer.health().lag != 0:
            assert time.monotonic() < deadline, consumer.health()
            await asyncio.sleep(0.05)
    assert len(await h.effects()) == 1
