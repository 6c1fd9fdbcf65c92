"""Composition root of the contracts service."""

from __future__ import annotations

import asyncio

import structlog
from fastapi import FastAPI

from backoffice_common import topics
from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_common.audit_archive_service import with_audit_archive
from backoffice_common.objectstore import OBJECT_STORE_ERRORS, ObjectStore
from backoffice_contracts.api import ROUTERS
from backoffice_contracts.api.problems import PROBLEMS
from backoffice_contracts.consumers import handlers
from backoffice_contracts.documents import Documents
from backoffice_contracts.jobs import expiry_job
from backoffice_contracts.models import messaging
from backoffice_contracts.service.uow import ContractsUnitOfWork
from backoffice_contracts.settings import Settings

MULTIPART_FRAMING = 64 * 1024
log = structlog.get_logger(__name__)


def build_spec(settings: Settings, documents: Documents, store: ObjectStore) -> ServiceSpec:
    async def render_workers_and_store(app: FastAPI) -> None:
        # Warm typst render workers first, so the first contract does not pay the process start (in the
        # background: readiness does not wait for it); a failure is logged and retried at the first render.
        try:
            await asyncio.to_thread(documents.sandbox.warm_up)
        except RuntimeError:
            log.exception("contracts.render_workers_not_started")
        try:
            await asyncio.Event().wait()
        finally:
            await store.close()
            documents.close()

    async def load_sealing_identity(app: FastAPI) -> None:
        # Fail at start-up, not at the first execution, when the certificate is unusable;
        # in development this generates the local CA on first start.
        await asyncio.to_thread(documents.identity)

    return ServiceSpec(
        name="contracts",
        title="Back-office contracts service",
        description="Contract templates, generated PDFs, signatures and sealing.",
        version="0.1.0",
        tables=messaging,
        routers=ROUTERS,
        publishes=[topics.CONTRACTS],
        consumes=[topics.APPROVALS, topics.NOTIFICATIONS, topics.REQUESTS, topics.VENDORS],
        compacted_topics=[topics.VENDORS],
        handlers=handlers(settings, documents),
        background_jobs=[expiry_job(settings), render_workers_and_store],
        on_startup=[load_sealing_identity],
        problems={**OBJECT_STORE_ERRORS, **PROBLEMS},
        # An upload may carry multipart framing around the PDF; api/verify.py checks the file itself.
        body_limits={"/contracts/verify": settings.max_upload_bytes + MULTIPART_FRAMING},
        uow_class=ContractsUnitOfWork.with_store(store),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    documents = Documents(settings)
    store = ObjectStore.from_settings(settings)
    app = create_service_app(build_spec(settings, documents, store), settings)
    app.state.documents = documents
    app.state.object_store = store
    with_audit_archive(app, store)  # GET /admin/audit/chain reads archived stretches of the audit log back
    return app
