"""Records deliveries in the caller's transaction; the delivery job sends them later."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice_common.events import CloudEvent
from backoffice_common.wakeup import notify_after_commit
from backoffice_notifications.mail.render import render
from backoffice_notifications.models import delivery


def dedup_key(*, event_id: str, channel: str, recipient: str, template: str) -> str:
    """One delivery per (event, recipient, template): a redelivered event cannot send twice."""
    digest = hashlib.sha256(f"{channel}|{recipient.lower()}|{template}".encode()).hexdigest()
    return f"{event_id}|{digest}"


DELIVERY_CHANNEL = "notifications_deliveries"


async def _insert(session: AsyncSession, values: dict[str, Any]) -> bool:
    stmt = pg_insert(delivery).values(**values).on_conflict_do_nothing(index_elements=["dedup_key"])
    result = await session.execute(stmt.returning(delivery.c.id))
    inserted = result.scalar_one_or_none() is not None
    if inserted:
        await notify_after_commit(session, DELIVERY_CHANNEL)
    return inserted


async def enqueue_email(
    *,
    session: AsyncSession,
    cause: CloudEvent,
    template: str,
    language: str,
    recipient: str,
    context: dict[str, Any],
    request_id: str | None,
    revision: int | None = None,
    vendor_id: str | None = None,
    notifies_vendor: bool = False,
) -> bool:
    if not recipient:
        return False
    mail = render(template, language, context)
    return await _insert(
        session,
        {
            "id": str(uuid.uuid4()),
            "dedup_key": dedup_key(event_id=cause.id, channel="email", recipient=recipient, template=template),
            "event_id": cause.id,
            "correlation_id": cause.correlationid or cause.id,
            "request_id": request_id,
            "revision": revision,
            "vendor_id": vendor_id,
            "channel": "email",
            "recipient": recipient,
            "template": template,
            "language": mail.language,
            "subject": mail.subject,
            "body_text": mail.text,
            "body_html": mail.html,
            "notifies_vendor": notifies_vendor,
            "status": "pending",
        },
    )


async def enqueue_webhook(
    *,
    session: AsyncSession,
    cause: CloudEvent,
    template: str,
    url: str,
    payload: dict[str, Any],
    request_id: str | None,
    vendor_id: str,
    revision: int | None = None,
    notifies_vendor: bool = False,
) -> bool:
    return await _insert(
        session,
        {
            "id": str(uuid.uuid4()),
            "dedup_key": dedup_key(event_id=cause.id, channel="webhook", recipient=url, template=template),
            "event_id": cause.id,
            "correlation_id": cause.correlationid or cause.id,
            "request_id": request_id,
            "revision": revision,
            "vendor_id": vendor_id,
            "channel": "webhook",
            "recipient": url,
            "template": template,
            "language": "en",
            "payload": payload,
            "notifies_vendor": notifies_vendor,
            "status": "pending",
        },
    )
