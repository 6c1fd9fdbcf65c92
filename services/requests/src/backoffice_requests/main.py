"""Composition root of the requests service."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from backoffice_common import topics
from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_common.objectstore import ObjectStore
from backoffice_requests import consumers, jobs
from backoffice_requests.api.problems import ERRORS
from backoffice_requests.api.requests import router
from backoffice_requests.models import messaging
from backoffice_requests.service.uow import RequestsUnitOfWork
from backoffice_requests.settings import Settings

CONSUMES = [
    topics.APPROVALS,
    topics.NOTIFICATIONS,
    topics.CONTRACTS,
    topics.VENDORS,
    topics.COST_CENTRES,
    topics.CHECKLISTS,
]


def build_spec(settings: Settings | None = None, store: ObjectStore | None = None) -> ServiceSpec:
    settings = settings or Settings()
    store = store or ObjectStore.from_settings(settings)

    async def close_archive_store(app: FastAPI) -> None:
        # made at first use (an archived timeline's read), closed at shutdown with its loop's client
        try:
            await asyncio.Event().wait()
        finally:
            await store.close()

    return ServiceSpec(
        name="requests",
        title="Back-office requests service",
        description="Purchase requests, revisions and the order lifecycle.",
        version="0.1.0",
        tables=messaging,
        routers=[router],
        publishes=[topics.REQUESTS],
        consumes=CONSUMES,
        handlers=consumers.handlers(),
        compacted_topics=[topics.VENDORS, topics.COST_CENTRES],
        retention=jobs.retention(settings),
        background_jobs=[close_archive_store],
        problems=ERRORS,
        uow_class=RequestsUnitOfWork.with_archive(store),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    store = ObjectStore.from_settings(settings)
    app = create_service_app(build_spec(settings, store), settings)
    app.state.object_store = store
    app.state.audit_archive = store  # GET /admin/audit/chain reads archived stretches of the audit log back
    return app
