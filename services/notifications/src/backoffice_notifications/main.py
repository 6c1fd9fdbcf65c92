"""Composition root of the notifications service."""

from __future__ import annotations

from fastapi import FastAPI

from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_notifications.consumers import build_handlers
from backoffice_notifications.deliveries.views import router as deliveries_router
from backoffice_notifications.deliveries.worker import delivery_job
from backoffice_notifications.inbound.housekeeping import purge_received_webhooks
from backoffice_notifications.inbound.link_views import router as links_router
from backoffice_notifications.inbound.webhook_views import router as webhook_router
from backoffice_notifications.models import messaging
from backoffice_notifications.settings import Settings
from backoffice_notifications.vendors.service import VENDORS_TOPIC
from backoffice_notifications.vendors.views import router as vendors_router

TOPIC = "backoffice.notifications"


def build_spec(settings: Settings | None = None) -> ServiceSpec:
    return ServiceSpec(
        name="notifications",
        title="Back-office notifications service",
        description="Vendor directory, email and webhook deliveries, the vendor webhook and signed links.",
        version="0.1.0",
        tables=messaging,
        routers=[vendors_router, deliveries_router, webhook_router, links_router],
        publishes=[TOPIC, VENDORS_TOPIC],
        consumes=["backoffice.requests", "backoffice.approvals", "backoffice.contracts"],
        handlers=build_handlers(settings or Settings()),
        compacted_topics=[VENDORS_TOPIC],
        background_jobs=[delivery_job, purge_received_webhooks],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(build_spec(settings), settings)
