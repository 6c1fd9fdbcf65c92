"""The delivery job: claims due deliveries (FOR UPDATE SKIP LOCKED), sends them, records the outcome.

Each batch is one transaction: the row locks keep other workers (other replicas too) off the same
deliveries while they are sent, and the outcome, vendor.notified and notification.failed are
committed together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping

from backoffice_common.db import asyncpg_dsn
from backoffice_common.events import new_event
from backoffice_common.uow import UnitOfWork
from backoffice_common.wakeup import Wakeup
from backoffice_notifications.deliveries.enqueue import DELIVERY_CHANNEL
from backoffice_notifications.deliveries.webhook_client import post_signed
from backoffice_notifications.domain.retry import backoff_seconds, is_final
from backoffice_notifications.mail.smtp import DeliveryError, SmtpSession, build_message
from backoffice_notifications.models import delivery, vendor_notification
from backoffice_notifications.settings import Settings
from backoffice_notifications.vendors.secrets_store import valid_secrets

log = structlog.get_logger(__name__)
TOPIC = "backoffice.notifications"


async def _send_email(row: RowMapping, *, smtp: SmtpSession, settings: Settings) -> None:
    message = build_message(
        settings=settings,
        delivery_id=row["id"],
        recipient=row["recipient"],
        subject=row["subject"],
        text=row["body_text"],
        html=row["body_html"],
        language=row["language"],
    )
    await smtp.send(message)


async def _send_webhook(
    row: RowMapping, *, secrets_: list[str], http: httpx.AsyncClient, settings: Settings
) -> DeliveryError | None:
    try:
        # The same webhook-id on every retry lets the vendor's system deduplicate.
        await post_signed(
            http,
            url=row["recipient"],
            payload=row["payload"],
            secrets_=secrets_,
            msg_id=f"msg_{row['id']}",
            settings=settings,
        )
    except DeliveryError as exc:
        return exc
    return None


def _event(type_: str, row: RowMapping, data: dict[str, Any]) -> Any:
    event = new_event(
        type=type_,
        service="notifications",
        subject=row["request_id"],
        data={"schema_version": 1, **data},
        correlation_id=row["correlation_id"],
    )
    return event.model_copy(update={"causationid": row["event_id"]})


async def _record_vendor_notified(uow: UnitOfWork, row: RowMapping) -> None:
    """vendor.notified exactly once per request revision, whichever channel reached the vendor first."""
    result = await uow.session.execute(
        pg_insert(vendor_notification)
        .values(
            request_id=row["request_id"], revision=row["revision"], vendor_id=row["vendor_id"], channel=row["channel"]
        )
        .on_conflict_do_nothing()
        .returning(vendor_notification.c.request_id)
    )
    if result.scalar_one_or_none() is None:
        return
    data = {
        "request_id": row["request_id"],
        "revision": row["revision"],
        "vendor_id": row["vendor_id"],
        "channel": row["channel"],
        "actor": {"id": "system", "name": "notifications", "role": "system"},
    }
    uow.publish(_event("vendor.notified", row, data), topic=TOPIC, key=row["request_id"])


async def _record_failure(uow: UnitOfWork, row: RowMapping, error: DeliveryError, settings: Settings) -> None:
    attempts = row["attempts"] + 1
    now = datetime.now(UTC)
    if error.permanent or is_final(attempts=attempts, max_attempts=settings.delivery_max_attempts):
        await uow.session.execute(
            delivery.update()
            .where(delivery.c.id == row["id"])
            .values(status="failed", attempts=attempts, last_error=str(error)[:2000])
        )
        data = {
            "delivery_id": row["id"],
            "request_id": row["request_id"],
            "channel": row["channel"],
            "recipient": row["recipient"],
            "template": row["template"],
            "attempts": attempts,
            "error": str(error)[:2000],
            "actor": {"id": "system", "name": "notifications", "role": "system"},
        }
        uow.publish(_event("notification.failed", row, data), topic=TOPIC, key=row["request_id"] or row["id"])
        log.warning("delivery.failed", delivery_id=row["id"], attempts=attempts, error=str(error))
        return
    delay = backoff_seconds(
        attempt=attempts,
        initial=settings.delivery_backoff_initial_seconds,
        maximum=settings.delivery_backoff_max_seconds,
    )
    await uow.session.execute(
        delivery.update()
        .where(delivery.c.id == row["id"])
        .values(attempts=attempts, last_error=str(error)[:2000], next_attempt_at=now + timedelta(seconds=delay))
    )


async def run_batch(*, uow_factory: Callable[[], UnitOfWork], settings: Settings, http: httpx.AsyncClient) -> int:
    async with uow_factory() as uow:
        rows = (
            (
                await uow.session.execute(
                    select(delivery)
                    .where(delivery.c.status == "pending", delivery.c.next_attempt_at <= datetime.now(UTC))
                    .order_by(delivery.c.next_attempt_at)
                    .limit(settings.delivery_batch_size)
                    .with_for_update(skip_locked=True)
                )
            )
            .mappings()
            .all()
        )
        if not rows:
            return 0
        outcomes: dict[str, DeliveryError | None] = {}
        emails = [r for r in rows if r["channel"] == "email"]
        hooks = [r for r in rows if r["channel"] == "webhook"]
        # Webhooks go out concurrently (each may take up to the 15 s timeout); secrets are read first
        # because one database session cannot be shared by concurrent tasks.
        hook_secrets = [
            await valid_secrets(session=uow.session, vendor_id=r["vendor_id"], key=settings.secret_encryption_key)
            for r in hooks
        ]
        hook_task = asyncio.gather(
            *(
                _send_webhook(r, secrets_=s, http=http, settings=settings)
                for r, s in zip(hooks, hook_secrets, strict=True)
            )
        )
        async with SmtpSession(settings) as smtp:
            for row in emails:
                try:
                    await _send_email(row, smtp=smtp, settings=settings)
                    outcomes[row["id"]] = None
                except DeliveryError as exc:
                    outcomes[row["id"]] = exc
                except Exception as exc:  # a malformed row must not block the rest of the batch
                    outcomes[row["id"]] = DeliveryError(f"unexpected: {exc!r}", permanent=False)
        for row, outcome in zip(hooks, await hook_task, strict=True):
            outcomes[row["id"]] = outcome
        for row in rows:
            error = outcomes[row["id"]]
            if error is not None:
                await _record_failure(uow, row, error, settings)
                continue
            await uow.session.execute(
                delivery.update()
                .where(delivery.c.id == row["id"])
                .values(status="sent", attempts=row["attempts"] + 1, sent_at=datetime.now(UTC), last_error=None)
            )
            if row["notifies_vendor"] and row["request_id"] and row["revision"] is not None:
                await _record_vendor_notified(uow, row)
        await uow.commit()
        return len(rows)


async def _worker(app: FastAPI, http: httpx.AsyncClient, wakeup: Wakeup) -> None:
    settings: Settings = app.state.settings
    while True:
        try:
            handled = await run_batch(uow_factory=app.state.uow_factory, settings=settings, http=http)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("delivery.batch_failed", error=repr(exc))
            handled = 0
        if not handled:
            # Woken at once when a transaction enqueues a delivery; the poll still finds retries that fell due.
            await wakeup.wait(settings.delivery_poll_interval_seconds)


async def delivery_job(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    wakeup = Wakeup(asyncpg_dsn(settings.database_url), DELIVERY_CHANNEL)
    listener = asyncio.create_task(wakeup.run())
    try:
        async with httpx.AsyncClient() as http:
            await asyncio.gather(*(_worker(app, http, wakeup) for _ in range(settings.delivery_workers)))
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
