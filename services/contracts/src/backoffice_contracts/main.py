"""Composition root of the contracts service."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_contracts.handlers import build_handlers
from backoffice_contracts.jobs import expiry_job
from backoffice_contracts.models import messaging
from backoffice_contracts.runtime import Runtime
from backoffice_contracts.settings import Settings
from backoffice_contracts.views import router, templates_router

TOPIC = "backoffice.contracts"
CONSUMES = ["backoffice.notifications", "backoffice.requests", "backoffice.vendors"]


def build_spec(settings: Settings | None = None) -> ServiceSpec:
    runtime = Runtime(settings or Settings())

    async def load_sealing_identity(app: FastAPI) -> None:
        # Fail at start-up, not at the first execution, when the certificate is unusable;
        # in development this generates the local CA on first start.
        app.state.contracts = runtime
        await asyncio.to_thread(runtime.identity)

    return ServiceSpec(
        name="contracts",
        title="Back-office contracts service",
        description="Contract templates, generated PDFs, signatures and sealing.",
        version="0.1.0",
        tables=messaging,
        routers=[router, templates_router],
        publishes=[TOPIC],
        consumes=CONSUMES,
        compacted_topics=["backoffice.vendors"],
        handlers=build_handlers(runtime),
        background_jobs=[expiry_job(runtime)],
        on_startup=[load_sealing_identity],
        # An upload may carry multipart framing around the PDF; views.py checks the file itself.
        body_limits={"/contracts/verify": runtime.settings.max_upload_bytes + 64 * 1024},
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(build_spec(settings), settings)
