"""Test kit of the shared library's tests: a private database harness, topic reader, builders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice_common.consumer import EventConsumer, Handler
from backoffice_common.db import make_session_factory
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.kafka import make_producer
from backoffice_common.messaging import MessagingTables
from backoffice_common.outbox import OutboxRelay
from backoffice_common.uow import UnitOfWork


@dataclass
class Harness:
    """A private database with the messaging tables and an ``effect`` table that handlers write to."""

    service: str
    dsn: str
    url: str
    engine: AsyncEngine
    tables: MessagingTables
    effect: Table
    topic: str
    bootstrap: str

    def uow(self) -> UnitOfWork:
        return UnitOfWork(make_session_factory(self.engine), tables=self.tables, service=self.service)

    def producer_factory(self) -> Callable[[], object]:
        return lambda: make_producer(self.bootstrap, client_id=f"{self.service}-test", request_timeout_ms=5000)

    async def effects(self) -> list[tuple[str, str, int]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(text("SELECT event_id, key, seq FROM effect ORDER BY id"))
            return [(r[0], r[1], r[2]) for r in rows]

    async def unsent(self) -> int:
        async with self.engine.connect() as conn:
            return int(
                (await conn.execute(text("SELECT count(*) FROM outbox_message WHERE sent_at IS NULL"))).scalar_one()
            )


async def read_topic(
    bootstrap: str, topic: str, *, expected: int, timeout: float = 60.0
) -> list[tuple[bytes | None, bytes, dict[str, bytes]]]:
    """Read a topic from the beginning until ``expected`` records (or the timeout) and return them."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    records: list[tuple[bytes | None, bytes, dict[str, bytes]]] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for recs in batch.values():
                records.extend((r.key, r.value, dict(r.headers or ())) for r in recs)
    finally:
        await consumer.stop()
    return records


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout: float = 60.0, interval: float = 0.2) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def event(seq: int, key: str, type: str = "thing.happened") -> CloudEvent:
    return new_event(type=type, service="test", subject=key, data={"seq": seq})


async def write_events(h: Harness, events: list[CloudEvent]) -> None:
    async with h.uow() as uow:
        for e in events:
            uow.publish(e, topic=h.topic)
        await uow.commit()


def recording_handler(h: Harness) -> Handler:
    async def handle(e: CloudEvent, uow: UnitOfWork) -> None:
        await uow.session.execute(h.effect.insert().values(event_id=e.id, key=e.subject, seq=e.data["seq"]))

    return handle


def make_relay(h: Harness, **kwargs: Any) -> OutboxRelay:
    options: dict[str, Any] = {"batch_size": 100, "poll_interval": 0.5, "max_backoff": 1.0}
    options.update(kwargs)
    return OutboxRelay(dsn=h.dsn, service=h.service, producer_factory=h.producer_factory(), **options)  # type: ignore[arg-type]


def make_consumer(h: Harness, handlers: Mapping[str, Handler], **kwargs: Any) -> EventConsumer:
    options: dict[str, Any] = {"max_attempts": 3, "retry_initial": 0.05, "retry_max": 0.2, "stall_seconds": 30.0}
    options.update(kwargs)
    return EventConsumer(
        service=h.service,
        bootstrap_servers=h.bootstrap,
        group_id=f"group-{h.service}",
        topics=[h.topic],
        handlers=handlers,
        uow_factory=h.uow,
        producer_factory=h.producer_factory(),  # type: ignore[arg-type]
        **options,
    )


@asynccontextmanager
async def running(*runners: Callable[[], Any]):  # type: ignore[no-untyped-def]
    tasks = [asyncio.create_task(r()) for r in runners]
    try:
        yield tasks
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
