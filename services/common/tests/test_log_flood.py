"""A broker outage writes a few log lines with counts, not one line per failed connection attempt."""

from __future__ import annotations

import logging

import pytest
from aiokafka import AIOKafkaProducer

from backoffice_common.observability import RepeatedLogFilter, configure_logging


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_a_sixteen_second_flood_of_one_kind_of_error_becomes_two_lines_the_second_with_the_count() -> None:
    clock = Clock()
    flood = RepeatedLogFilter(interval=10.0, clock=clock)
    passed: list[str] = []
    for i in range(1600):  # one connection attempt every 10 ms for 16 seconds
        clock.now = i * 0.01
        r = record("aiokafka.conn", "Unable connect to node with id %s: %s", i % 3, "refused")
        if flood.filter(r):
            passed.append(r.getMessage())
    assert len(passed) == 2
    assert passed[0] == "Unable connect to node with id 0: refused"
    assert passed[1].endswith("[and 999 more like this since the previous line]")


def test_other_kinds_of_message_and_other_libraries_are_not_held_back() -> None:
    clock = Clock()
    flood = RepeatedLogFilter(interval=10.0, clock=clock)
    assert flood.filter(record("aiokafka", "Unable connect to %s", "a"))
    assert flood.filter(record("aiokafka.consumer.group_coordinator", "Heartbeat failed: %s", "x"))
    assert not flood.filter(record("aiokafka", "Unable connect to %s", "b"))
    for _ in range(5):
        assert flood.filter(record("backoffice_common.outbox", "outbox.publish_failed"))


async def test_the_service_log_of_a_client_that_cannot_reach_the_broker_stays_short(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(level="INFO", json=True)
    try:
        for _ in range(20):
            producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", request_timeout_ms=1000)
            with pytest.raises(Exception, match="bootstrap"):
                await producer.start()
            await producer.stop()
        lines = [line for line in capsys.readouterr().out.splitlines() if "Unable connect to" in line]
    finally:
        logging.getLogger().handlers.clear()
    assert len(lines) == 1, lines
