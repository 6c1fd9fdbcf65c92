"""Composition root of the notifications service."""

from __future__ import annotations

from fastapi import FastAPI

from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_notifications.models import messaging
from backoffice_notifications.settings import Settings

TOPIC = "backoffice.notifications"


def build_spec() -> ServiceSpec:
    return ServiceSpec(
        name="notifications",
        title="Back-office notifications service",
        description="Vendor directory, email and webhook deliveries, the vendor webhook and signed links.",
        version="0.1.0",
        tables=messaging,
        publishes=[TOPIC],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(build_spec(), settings or Settings())
