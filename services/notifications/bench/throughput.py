"""Emails per second through the SMTP server, and vendor-webhook signature verifications per second.

Not a test. Run against the local infrastructure:

    export BACKOFFICE_PROFILE=test; source deploy/env.sh
    .venv/bin/python services/notifications/bench/throughput.py --emails 300 --workers 1 2 4

Emails are recorded as delivery rows in a private database, then sent by the service's own delivery
passes (FOR UPDATE SKIP LOCKED, one transaction per email, one SMTP connection per pass) to
BACKOFFICE_SMTP_HOST/PORT. All mails of one run go to one bench-<random>@example.test address and are
deleted (by id) from the shared sink afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import func, select

import backoffice_notifications
from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.events import new_event
from backoffice_common.testing import private_database
from backoffice_notifications.domain.webhook_signature import new_secret, parse_headers, sign, verify
from backoffice_notifications.jobs.deliveries import run_batch
from backoffice_notifications.models import delivery, messaging
from backoffice_notifications.service import deliveries
from backoffice_notifications.service.deliveries import Cause, Target
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings

MIGRATIONS = Path(backoffice_notifications.__file__).parent / "migrations"


async def emails_per_second(count: int, workers: int) -> float:
    async with private_database(MIGRATIONS) as url:
        settings = Settings(
            environment="test",
            database_url=url,
            jwt_secret="bench-jwt-secret-" + "x" * 30,
            smtp_host=os.environ["BACKOFFICE_SMTP_HOST"],
            smtp_port=int(os.environ["BACKOFFICE_SMTP_PORT"]),
            secret_encryption_key=Fernet.generate_key().decode(),
            link_signing_key="b" * 40,
            delivery_batch_size=50,
        )
        engine = make_engine(url, pool_size=workers + 2)
        factory = make_session_factory(engine)

        def uow() -> NotificationsUnitOfWork:
            return NotificationsUnitOfWork(factory, tables=messaging, service="notifications", topic_prefix="bench.")

        tag = uuid.uuid4().hex[:8]
        async with uow() as u:
            for _ in range(count):
                cause = new_event(type="approval.reminder_due", service="bench", subject=str(uuid.uuid4()), data={})
                await deliveries.email(
                    u,
                    cause=Cause.of(cause),
                    template="task_reminder",
                    language="en",
                    recipient=f"bench-{tag}@example.test",
                    target=Target(None),
                    context={"assignee": {"name": "Bench"}, "due_at": "2026-12-01", "task_url": "http://x/t"},
                )
            await u.commit()
        async with httpx.AsyncClient() as http:
            started = time.perf_counter()

            async def worker() -> None:
                while await run_batch(uow_factory=uow, settings=settings, http=http):
                    pass

            await asyncio.gather(*(worker() for _ in range(workers)))
            elapsed = time.perf_counter() - started
        async with uow() as u:
            sent = await u.session.scalar(select(func.count()).select_from(delivery).where(delivery.c.status == "sent"))
        await engine.dispose()
        assert sent == count, f"only {sent} of {count} sent"
        await remove_from_shared_sink(f"bench-{tag}@example.test")
        return count / elapsed


async def remove_from_shared_sink(address: str) -> None:
    """The shared sink parses every stored mail on each query: leave it as fast as we found it."""
    base = os.environ.get("BACKOFFICE_MAILBOX_URL")
    if not base:
        return
    async with httpx.AsyncClient(timeout=120) as client:
        messages = (await client.get(f"{base}/messages", params={"to": address})).json()
        for message in messages:
            await client.delete(f"{base}/messages/{message['id']}")


def verifications_per_second(secrets_count: int, seconds: float = 1.5) -> float:
    secrets_ = [new_secret() for _ in range(secrets_count)]
    body = json.dumps(
        {"action": "accept", "vendor_id": str(uuid.uuid4()), "request_id": str(uuid.uuid4()), "note": "x" * 800}
    ).encode()
    ts = int(time.time())
    # Signed with the oldest secret: the worst case during a rotation (every secret is tried).
    raw = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret=secrets_[-1], msg_id="msg_1", timestamp=ts, body=body),
    }
    done = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        for _ in range(200):
            verify(secrets_=secrets_, headers=parse_headers(raw), body=body, now=ts, tolerance=300)
        done += 200
    return done / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--emails", type=int, default=300)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    for secrets_count in (1, 2):
        rate = verifications_per_second(secrets_count)
        print(f"webhook verifications/s with {secrets_count} valid secret(s): {rate:,.0f}")
    for workers in args.workers:
        rate = await emails_per_second(args.emails, workers)
        print(f"emails/s through SMTP ({args.emails} mails, {workers} worker(s)): {rate:,.1f}")


if __name__ == "__main__":
    asyncio.run(main())
