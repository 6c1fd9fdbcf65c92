"""The delivery job's passes alone, as a process of its own that a test can kill: runs until nothing is due.

python delivery_worker_process.py '<Settings as JSON>'
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx

from backoffice_common.db import make_engine, make_session_factory
from backoffice_notifications.jobs.deliveries import run_batch
from backoffice_notifications.models import messaging
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


async def main(values: dict[str, Any]) -> None:
    settings = Settings(**values)
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)

    def uow() -> NotificationsUnitOfWork:
        return NotificationsUnitOfWork(
            factory, tables=messaging, service="notifications", topic_prefix=settings.kafka_topic_prefix
        )

    try:
        async with httpx.AsyncClient() as http:
            while await run_batch(uow_factory=uow, settings=settings, http=http):
                pass
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
