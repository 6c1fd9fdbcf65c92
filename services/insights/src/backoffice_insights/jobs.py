"""Background jobs of the insights service."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog
from fastapi import FastAPI

from backoffice_common.app import BackgroundJob
from backoffice_insights.metrics import COLLECTOR
from backoffice_insights.repository.readings import read

log = structlog.get_logger(__name__)


def refresh_metrics(interval: float) -> BackgroundJob:
    async def refresh_metrics(app: FastAPI) -> None:
        while True:
            try:
                async with app.state.session_factory() as session:
                    COLLECTOR.reading = await read(session, now=datetime.now(UTC))
            except Exception as exc:
                log.warning("insights.metrics_refresh_failed", error=repr(exc))
            await asyncio.sleep(interval)

    return refresh_metrics
