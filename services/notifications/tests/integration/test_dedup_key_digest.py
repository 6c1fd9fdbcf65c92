"""The dedup key as a 16-byte digest: a delivery recorded before the migration still stops its redelivery."""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg
import pytest
from notifications_testkit import MIGRATIONS
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from backoffice_common.migrations import upgrade
from backoffice_common.testing import private_database
from backoffice_notifications.domain.deliveries import Delivery, dedup_key
from backoffice_notifications.repository.deliveries import DeliveryRepository


def delivery(id_: str, *, event_id: str, recipient: str, template: str = "task_assigned") -> Delivery:
    return Delivery(
        id=id_,
        event_id=event_id,
        correlation_id=None,
        request_id=None,
        revision=None,
        vendor_id=None,
        channel="email",
        recipient=recipient,
        template=template,
        language="en",
        status="sent",
    )


def former_key(d: Delivery) -> str:
    """The text key stored before migration 0006."""
    digest = hashlib.sha256(f"{d.channel}|{d.recipient.lower()}|{d.template}".encode()).hexdigest()
    return f"{d.event_id}|{digest}"


async def add(url: str, d: Delivery) -> bool:
    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            return await DeliveryRepository(session, lambda _: None).add(d)
    finally:
        await engine.dispose()


def test_the_key_is_16_bytes_and_tells_event_recipient_and_template_apart() -> None:
    base = delivery("a", event_id="e-1", recipient="Alice@Example.com")
    assert len(base.dedup_key) == 16
    assert base.dedup_key == delivery("b", event_id="e-1", recipient="alice@example.com").dedup_key
    others = [
        delivery("c", event_id="e-2", recipient="alice@example.com"),
        delivery("d", event_id="e-1", recipient="bob@example.com"),
        delivery("e", event_id="e-1", recipient="alice@example.com", template="reminder"),
    ]
    assert len({base.dedup_key, *(o.dedup_key for o in others)}) == 4
    keys = {dedup_key(event_id=f"e-{i}", channel="email", recipient="a@x", template="t") for i in range(20_000)}
    assert len(keys) == 20_000


async def test_rows_of_the_former_text_key_are_converted_and_still_deduplicate() -> None:
    async with private_database() as url:
        await asyncio.to_thread(upgrade, MIGRATIONS, url, "0005_audit_anchors")
        before = [
            delivery("d-1", event_id="e-1", recipient="Alice@Example.com"),
            delivery("d-2", event_id="e-1", recipient="bob@example.com"),
            delivery("d-3", event_id="e-2", recipient="alice@example.com"),
        ]
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            for d in before:
                await conn.execute(
                    "INSERT INTO delivery (id, dedup_key, event_id, channel, recipient, template, language, status)"
                    " VALUES ($1, $2, $3, $4, $5, $6, 'en', 'sent')",
                    d.id,
                    former_key(d),
                    d.event_id,
                    d.channel,
                    d.recipient,
                    d.template,
                )
            await asyncio.to_thread(upgrade, MIGRATIONS, url)
            stored = {r["id"]: bytes(r["dedup_key"]) for r in await conn.fetch("SELECT id, dedup_key FROM delivery")}
            assert stored == {d.id: d.dedup_key for d in before}

            # The same event, recipient and template again (a redelivery after the upgrade): nothing added.
            assert not await add(url, delivery("d-4", event_id="e-1", recipient="alice@example.com"))
            assert await add(url, delivery("d-5", event_id="e-3", recipient="alice@example.com"))
            assert await conn.fetchval("SELECT count(*) FROM delivery") == 4
            # Only a 16-byte digest is accepted.
            with pytest.raises(asyncpg.CheckViolationError):
                await conn.execute(
                    "INSERT INTO delivery (id, dedup_key, event_id, channel, recipient, template, language, status)"
                    " VALUES ('d-6', '\\x00'::bytea, 'e', 'email', 'a@x', 't', 'en', 'sent')"
                )
        finally:
            await conn.close()
