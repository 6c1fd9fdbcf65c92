"""Composition root of the contracts service."""

from __future__ import annotations

from fastapi import FastAPI

from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_contracts.models import messaging
from backoffice_contracts.settings import Settings

TOPIC = "backoffice.contracts"


def build_spec() -> ServiceSpec:
    return ServiceSpec(
        name="contracts",
        title="Back-office contracts service",
        description="Contract templates, generated PDFs, signatures and sealing.",
        version="0.1.0",
        tables=messaging,
        publishes=[TOPIC],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(build_spec(), settings or Settings())
