"""Composition root of the requests service."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from fastapi import FastAPI
from sqlalchemy import delete, func

from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_requests import consumers
from backoffice_requests.errors import install_domain_error_handlers
from backoffice_requests.models import idempotency_record, messaging
from backoffice_requests.settings import Settings
from backoffice_requests.views import router

TOPIC = "backoffice.requests"
CONSUMES = ["backoffice.approvals", "backoffice.notifications", "backoffice.contracts", "backoffice.vendors"]

log = structlog.get_logger(__name__)


def _expire_idempotency_keys(settings: Settings):  # type: ignore[no-untyped-def]
    async def job(app: FastAPI) -> None:
        retention = timedelta(hours=settings.idempotency_retention_hours)
        while True:
            try:
                async with app.state.uow_factory() as uow:
                    await uow.session.execute(
                        delete(idempotency_record).where(idempotency_record.c.created_at < func.now() - retention)
                    )
                    await uow.commit()
            except Exception as exc:
                log.warning("idempotency.expiry_failed", error=repr(exc))
            await asyncio.sleep(600)

    return job


def build_spec(settings: Settings | None = None) -> ServiceSpec:
    settings = settings or Settings()
    return ServiceSpec(
        name="requests",
        title="Back-office requests service",
        description="Purchase requests, revisions and the order lifecycle.",
        version="0.1.0",
        tables=messaging,
        routers=[router],
        publishes=[TOPIC],
        consumes=CONSUMES,
        handlers=consumers.handlers(),
        compacted_topics=["backoffice.vendors"],
        background_jobs=[_expire_idempotency_keys(settings)],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(build_spec(settings), settings)
    install_domain_error_handlers(app)
    return app
