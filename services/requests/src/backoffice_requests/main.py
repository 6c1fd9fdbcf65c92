"""Composition root of the requests service."""

from __future__ import annotations

from fastapi import FastAPI

from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_requests.models import messaging
from backoffice_requests.settings import Settings

TOPIC = "backoffice.requests"


def build_spec() -> ServiceSpec:
    return ServiceSpec(
        name="requests",
        title="Back-office requests service",
        description="Purchase requests, revisions and the order lifecycle.",
        version="0.1.0",
        tables=messaging,
        publishes=[TOPIC],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(build_spec(), settings or Settings())
